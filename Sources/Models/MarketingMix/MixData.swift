import Foundation
import Common

/// Why a marketing-mix input or fit was refused.
public struct MixError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Weekly (or daily) marketing data: the KPI, spend per channel and control variables
/// per period, in time order.
public struct MixData: Sendable {
    public var periods: [String]
    public var kpi: [Double]
    public var channels: [String]
    /// [period][channel], flattened.
    public var spend: [Double]
    public var controls: [String]
    /// [period][control], flattened.
    public var controlValues: [Double]
    /// Day of the year of each period (for seasonality), from the date column when there
    /// is one, else the period's place in a 52-week year.
    public var dayOfYear: [Double]

    public var count: Int { kpi.count }

    public init(periods: [String], kpi: [Double], channels: [String], spend: [Double], controls: [String] = [], controlValues: [Double] = [], dayOfYear: [Double]? = nil) {
        precondition(spend.count == kpi.count * channels.count && controlValues.count == kpi.count * controls.count)
        self.periods = periods
        self.kpi = kpi
        self.channels = channels
        self.spend = spend
        self.controls = controls
        self.controlValues = controlValues
        self.dayOfYear = dayOfYear ?? kpi.indices.map { Double($0 % 52) * 7 + 1 }
    }

    public func spend(_ t: Int, _ c: Int) -> Double { spend[t * channels.count + c] }

    /// Channel `c`'s mean spend per period, and its largest in one period.
    public func meanSpend(_ c: Int) -> Double { totalSpend(c) / Double(max(count, 1)) }
    public func peakSpend(_ c: Int) -> Double { (0..<count).map { spend($0, c) }.max() ?? 0 }

    /// Total spend of channel `c` over all periods.
    public func totalSpend(_ c: Int) -> Double {
        (0..<count).reduce(0) { $0 + spend($1, c) }
    }

    /// Reads a CSV with a header: `kpi` and `channels` (spend) columns are required,
    /// `controls` optional; `date` (YYYY-MM-DD) gives each period's day of the year. Every
    /// value must be a finite number and spend must not be negative: a bad cell is an
    /// error naming its line and column, never a silent zero.
    public static func load(_ path: String, date: String?, kpi: String, channels: [String], controls: [String] = []) throws(MixError) -> MixData {
        try loadGeos(path, geo: nil, date: date, kpi: kpi, channels: channels, controls: controls)[0].data
    }

    /// As `load`, with one series per value of the `geo` column (in order of first
    /// appearance; each geo's rows in time order). Without `geo`, one series named "".
    public static func loadGeos(_ path: String, geo: String?, date: String?, kpi: String, channels: [String], controls: [String] = []) throws(MixError) -> [(name: String, data: MixData)] {
        let table: CSVTable
        do { table = try CSVTable(path: path) } catch { throw MixError(error.message) }
        func column(_ name: String) throws(MixError) -> Int {
            do { return try table.column(name, in: path) } catch { throw MixError(error.message) }
        }
        guard !channels.isEmpty else { throw MixError("name at least one spend column") }
        let kpiColumn = try column(kpi)
        let channelColumns = try channels.map { (c) throws(MixError) in try column(c) }
        let controlColumns = try controls.map { (c) throws(MixError) in try column(c) }
        let dateColumn = try date.map { (c) throws(MixError) in try column(c) }
        let geoColumn = try geo.map { (c) throws(MixError) in try column(c) }
        var order: [String] = []
        var series: [String: MixData] = [:]
        for (n, row) in table.rows.enumerated() {
            let line = n + 2
            guard row.count == table.header.count else { throw MixError("\(path) line \(line): \(row.count) fields, the header has \(table.header.count)") }
            func number(_ i: Int) throws(MixError) -> Double {
                guard let v = Double(row[i]), v.isFinite else { throw MixError("\(path) line \(line): '\(table.header[i])' is not a number: '\(row[i].prefix(40))'") }
                return v
            }
            let name = geoColumn.map { String(row[$0]) } ?? ""
            if series[name] == nil {
                order.append(name)
                series[name] = MixData(periods: [], kpi: [], channels: channels, spend: [], controls: controls, controlValues: [], dayOfYear: [])
            }
            var data = series[name]!
            let index = data.count
            data.kpi.append(try number(kpiColumn))
            for c in channelColumns {
                let v = try number(c)
                guard v >= 0 else { throw MixError("\(path) line \(line): spend '\(table.header[c])' is negative") }
                data.spend.append(v)
            }
            for c in controlColumns { data.controlValues.append(try number(c)) }
            if let dateColumn {
                let text = String(row[dateColumn])
                guard let day = Self.dayOfYear(text) else { throw MixError("\(path) line \(line): '\(text.prefix(40))' is not a YYYY-MM-DD date") }
                data.periods.append(text)
                data.dayOfYear.append(day)
            } else {
                data.periods.append(String(index))
                data.dayOfYear.append(Double(index % 52) * 7 + 1)
            }
            series[name] = data
        }
        guard !order.isEmpty else { throw MixError("\(path): no rows") }
        return try order.map { (name) throws(MixError) in
            let data = series[name]!
            let label = geo == nil ? path : "\(path) geo '\(name)'"
            guard data.count >= 8 else { throw MixError("\(label): \(data.count) periods; a fit needs at least 8") }
            for (c, channel) in channels.enumerated() where data.totalSpend(c) <= 0 {
                throw MixError("\(label): channel '\(channel)' has no spend at all; leave it out")
            }
            return (name, data)
        }
    }

    /// Geo → region from the `geo` and `region` columns; a geo whose rows name more than
    /// one region is refused.
    public static func regions(_ path: String, geo: String, region: String) throws(MixError) -> [String: String] {
        let table: CSVTable
        do { table = try CSVTable(path: path) } catch { throw MixError(error.message) }
        let g: Int, r: Int
        do { (g, r) = (try table.column(geo, in: path), try table.column(region, in: path)) } catch { throw MixError(error.message) }
        var out: [String: String] = [:]
        for (n, row) in table.rows.enumerated() where row.count == table.header.count {
            let name = String(row[g]), value = String(row[r])
            if let seen = out[name], seen != value { throw MixError("\(path) line \(n + 2): geo '\(name)' is in region '\(seen)' and '\(value)'") }
            out[name] = value
        }
        return out
    }

    /// 1…366 for a `YYYY-MM-DD` prefix.
    public static func dayOfYear(_ text: String) -> Double? {
        let parts = text.prefix(10).split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, (1...12).contains(parts[1]), (1...31).contains(parts[2]) else { return nil }
        let (y, m, d) = (parts[0], parts[1], parts[2])
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let before = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334][m - 1]
        return Double(before + d + (leap && m > 2 ? 1 : 0))
    }
}
