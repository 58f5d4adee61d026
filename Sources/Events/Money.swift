/// An amount of money in integer micro-units (10⁻⁶ of the currency unit).
///
/// Integers make sums exact and independent of order, so state merged from several
/// partitions or processes equals the state of one sequential run, bit for bit. 128 bits
/// hold 10²⁰ sums of the largest accepted amount, so totals never overflow in practice.
public struct Money: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var micros: Int128

    /// The largest amount an event may carry, 10¹² units (10¹⁸ micro-units).
    public static let maximumUnits: Double = 1e12

    public init(micros: Int128) { self.micros = micros }

    /// Rounds `units` to the nearest micro-unit; nil when not finite, negative or above
    /// `maximumUnits`.
    public init?(units: Double) {
        guard units.isFinite, units >= 0, units <= Money.maximumUnits else { return nil }
        // Through Int64 (10¹⁸ fits): converting a Double to Int128 directly is far slower.
        micros = Int128(Int64((units * 1_000_000).rounded()))
    }

    public static let zero = Money(micros: 0)

    /// Through Int64 when it fits (every amount an event carries does): converting an
    /// Int128 to a Double takes the standard library's generic, slow path.
    public var units: Double {
        if let small = Int64(exactly: micros) { return Double(small) / 1_000_000 }
        return Double(micros) / 1_000_000
    }

    public static func + (a: Money, b: Money) -> Money { Money(micros: a.micros + b.micros) }
    public static func += (a: inout Money, b: Money) { a.micros += b.micros }

    /// `quantity` times this amount (a purchase line's value).
    public func times(_ quantity: Int64) -> Money { Money(micros: micros * Int128(quantity)) }
    public static func < (a: Money, b: Money) -> Bool { a.micros < b.micros }

    /// Decimal text with up to six fractional digits and no trailing zeros.
    public var description: String {
        let negative = micros < 0
        let magnitude = micros.magnitude
        var text = String(magnitude / 1_000_000)
        var fraction = magnitude % 1_000_000
        if fraction != 0 {
            var digits = 6
            while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
            text += "." + String(fraction).zeroPadded(to: digits)
        }
        return negative ? "-" + text : text
    }
}

/// A calendar day (proleptic Gregorian, UTC) as days since 1970-01-01.
public struct Day: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var daysSinceEpoch: Int32

    public init(daysSinceEpoch: Int32) { self.daysSinceEpoch = daysSinceEpoch }

    /// nil unless `month` and `day` name a real date in years 0000–9999.
    public init?(year: Int, month: Int, day: Int) {
        guard (0...9999).contains(year), (1...12).contains(month),
            (1...CivilCalendar.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        daysSinceEpoch = Int32(CivilCalendar.daysFromCivil(year: year, month: month, day: day))
    }

    /// The day containing `millis` since the epoch.
    public init(epochMillis millis: Int64) {
        let day = millis >= 0 ? millis / 86_400_000 : (millis - 86_399_999) / 86_400_000
        daysSinceEpoch = Int32(truncatingIfNeeded: day)
    }

    public static func < (a: Day, b: Day) -> Bool { a.daysSinceEpoch < b.daysSinceEpoch }

    /// `YYYY-MM-DD`.
    public var description: String {
        let (y, m, d) = CivilCalendar.civilFromDays(Int(daysSinceEpoch))
        return "\(String(y).zeroPadded(to: 4))-\(String(m).zeroPadded(to: 2))-\(String(d).zeroPadded(to: 2))"
    }
}

/// Calendar arithmetic without Foundation (Howard Hinnant's civil-date algorithms).
public enum CivilCalendar {
    public static func isLeap(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

extension String {
    /// The string with leading zeros up to `width` characters (dates, times, file names).
    public func zeroPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

extension Money {
    /// Whether `code` has the form of an ISO 4217 currency code: three upper-case ASCII letters.
    public static func isCurrencyCode(_ code: String) -> Bool {
        code.utf8.count == 3 && code.utf8.allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
    }
}
