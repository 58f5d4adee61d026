-- wrk script for Benchmarks/http.sh: POST /v1/decide with a new user per request (or a
-- GET of WRK_PATH when it is set to another path). done() prints one JSON line with
-- the rate and latency percentiles (µs).
local path = os.getenv("WRK_PATH") or "/v1/decide"
local counter = 0

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  counter = counter + 1
  if path == "/v1/decide" then
    local body = string.format(
      '{"surface":"offer","user":"bench-%d-%d","context":{"recency_days":%d,"orders":%d,"mobile":%d}}',
      math.random(1, 1000000), counter, counter % 30, counter % 4, counter % 2)
    return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, body)
  end
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '{"path":"%s","requests":%d,"requests_per_s":%.1f,"errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d}\n',
    path, summary.requests, summary.requests / seconds, errors,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max))
end
