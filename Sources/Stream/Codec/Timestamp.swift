import Events

/// Parsing and formatting of event timestamps: RFC 3339 text or epoch milliseconds.
public enum Timestamp {
    /// Exclusive upper bound: 10000-01-01T00:00:00Z.
    public static let upperBoundMillis: Int64 = 253_402_300_800_000

    /// Milliseconds since the epoch for an RFC 3339 date-time
    /// (`YYYY-MM-DD[Tt ]HH:MM:SS[.frac](Z|z|±HH:MM)`), fraction truncated to milliseconds;
    /// nil when malformed or outside [1970, 10000).
    public static func parseRFC3339(_ p: UnsafeBufferPointer<UInt8>) -> Int64? {
        let n = p.count
        guard n >= 20 else { return nil }
        func digits(_ at: Int, _ count: Int) -> Int? {
            var v = 0
            for k in at..<(at + count) {
                let d = p[k] &- UInt8(ascii: "0")
                guard d < 10 else { return nil }
                v = v * 10 + Int(d)
            }
            return v
        }
        guard let year = digits(0, 4), p[4] == UInt8(ascii: "-"), let month = digits(5, 2),
            p[7] == UInt8(ascii: "-"), let day = digits(8, 2),
            p[10] == UInt8(ascii: "T") || p[10] == UInt8(ascii: "t") || p[10] == UInt8(ascii: " "),
            let hour = digits(11, 2), p[13] == UInt8(ascii: ":"), let minute = digits(14, 2),
            p[16] == UInt8(ascii: ":"), let second = digits(17, 2)
        else { return nil }
        guard Day(year: year, month: month, day: day) != nil, hour < 24, minute < 60, second <= 60
        else { return nil }
        var i = 19
        var millis = 0
        if p[i] == UInt8(ascii: ".") {
            i += 1
            let fractionStart = i
            while i < n, p[i] &- UInt8(ascii: "0") < 10 {
                if i - fractionStart < 3 { millis = millis * 10 + Int(p[i] &- UInt8(ascii: "0")) }
                i += 1
            }
            let fractionDigits = i - fractionStart
            guard fractionDigits > 0 else { return nil }
            for _ in fractionDigits..<max(3, fractionDigits) { millis *= 10 }
        }
        guard i < n else { return nil }
        var offsetMinutes = 0
        switch p[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard n - i == 6, let oh = digits(i + 1, 2), p[i + 3] == UInt8(ascii: ":"),
                let om = digits(i + 4, 2), oh < 24, om < 60
            else { return nil }
            offsetMinutes = (oh * 60 + om) * (p[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        default:
            return nil
        }
        guard i == n else { return nil }
        let days = Int64(CivilCalendar.daysFromCivil(year: year, month: month, day: day))
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second - offsetMinutes * 60)
        let total = seconds * 1000 + Int64(millis)
        guard total >= 0, total < upperBoundMillis else { return nil }
        return total
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    public static func formatRFC3339(millis: Int64) -> String {
        let day = Day(epochMillis: millis)
        let msOfDay = Int(millis - Int64(day.daysSinceEpoch) * 86_400_000)
        func pad(_ v: Int, _ width: Int) -> String { String(v).zeroPadded(to: width) }
        let h = msOfDay / 3_600_000
        let m = msOfDay / 60_000 % 60
        let s = msOfDay / 1000 % 60
        let ms = msOfDay % 1000
        return "\(day)T\(pad(h, 2)):\(pad(m, 2)):\(pad(s, 2)).\(pad(ms, 3))Z"
    }
}
