import StateFormat
import Testing

@testable import Events

@Suite struct ValueTypeTests {
    @Test func moneyRoundsToMicrosAndPrintsExactly() {
        #expect(Money(units: 12.5)?.micros == 12_500_000)
        #expect(Money(units: 0.1)?.micros == 100_000)
        #expect(Money(units: 1e12) != nil)
        #expect(Money(units: 1e12 + 1) == nil)
        #expect(Money(units: -0.01) == nil)
        #expect(Money(units: .infinity) == nil)
        #expect(Money(micros: 25_100_000).description == "25.1")
        #expect(Money(micros: 1).description == "0.000001")
        #expect(Money(micros: 3_000_000).description == "3")
    }

    @Test func civilCalendarRoundTripsEveryDayOverFourCenturies() {
        var expected = CivilCalendar.daysFromCivil(year: 1900, month: 1, day: 1)
        for year in 1900..<2300 {
            for month in 1...12 {
                for day in 1...CivilCalendar.daysIn(month: month, year: year) {
                    #expect(CivilCalendar.daysFromCivil(year: year, month: month, day: day) == expected)
                    let back = CivilCalendar.civilFromDays(expected)
                    #expect(back.year == year && back.month == month && back.day == day)
                    expected += 1
                }
            }
        }
        #expect(Day(year: 1970, month: 1, day: 1)?.daysSinceEpoch == 0)
        #expect(Day(year: 2019, month: 2, day: 29) == nil)
        #expect(Day(year: 2020, month: 2, day: 29)?.description == "2020-02-29")
        #expect(Day(epochMillis: -1).description == "1969-12-31")
    }

    @Test func exactSumDoesNotDependOnOrder() {
        var rng = SystemRandomNumberGenerator()
        let terms = (0..<10_000).map { _ in Double.random(in: -1e6...1e6, using: &rng) * Double.random(in: 0...1, using: &rng) }
        var forward = ExactSum()
        terms.forEach { forward.add($0) }
        var backward = ExactSum()
        terms.reversed().forEach { backward.add($0) }
        var sharded = [ExactSum](repeating: ExactSum(), count: 7)
        for (i, t) in terms.shuffled().enumerated() { sharded[i % 7].add(t) }
        var merged = ExactSum()
        sharded.forEach { merged.add($0) }
        #expect(forward == backward)
        #expect(forward == merged)
        #expect(abs(forward.value - terms.reduce(0, +)) < 1e-6)
    }

    @Test func exactSumRoundTripsThroughState() throws {
        var s = ExactSum()
        s.add(-123.456)
        s.add(1e-9)
        var w = StateWriter()
        s.encode(to: &w)
        var r = StateReader(w.bytes)
        #expect(try ExactSum(from: &r) == s)
    }

    @Test func partitionKeyFollowsTheDocumentedRule() {
        #expect(Event(timestamp: 0, body: .reward(Reward(decisionID: "d", value: 1))).partitionKey == "d")
        #expect(Event(timestamp: 0, body: .reward(Reward(decisionID: "d", value: 1, user: "u"))).partitionKey == "u")
        #expect(Event(timestamp: 0, body: .bidOutcome(BidOutcome(auctionID: "a", won: false, clearingPrice: nil))).partitionKey == "a")
        #expect(Event(timestamp: 0, body: .spend(Spend(channel: "tv", amount: .zero, day: Day(daysSinceEpoch: 0)))).partitionKey == "tv")
        #expect(EventKind(wireName: "bid_outcome") == .bidOutcome)
    }
}

@Suite struct OverflowTests {
    @Test func moneySumsOfTheLargestAmountsStayExact() {
        let largest = Money(units: Money.maximumUnits)!
        var total = Money.zero
        for _ in 0..<1000 { total += largest }
        #expect(total.description == "1000000000000000")
        #expect(largest.times(1_000_000_000).description == "1000000000000000000000")
    }

    @Test func exactSumSaturatesInsteadOfTrapping() {
        var s = ExactSum()
        s.add(1e12)
        for _ in 0..<200 { s.add(s) }  // doubles far past 128 bits
        #expect(s.value > 1e25)
        var n = ExactSum()
        n.add(-1e12)
        for _ in 0..<200 { n.add(n) }
        #expect(n.value < -1e25)
        var clamped = ExactSum()
        clamped.add(.infinity)
        clamped.add(.nan)
        #expect(clamped == ExactSum())
    }
}

@Suite struct ExactSumRoundingTests {
    /// Each term counts as trunc(x · 2⁴⁰) / 2⁴⁰, whatever its sign and size.
    @Test func termsAreTruncatedOnTheTwoToTheMinusFortyGrid() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<10_000 {
            let x = Double.random(in: -1e12...1e12, using: &rng) / Double(1 << Int.random(in: 0..<40, using: &rng))
            var s = ExactSum()
            s.add(x)
            let expected = (x * 0x1p40).rounded(.towardZero) / 0x1p40
            #expect(s.value == expected, "\(x)")
        }
    }
}

@Suite struct ExactSumTermTests {
    /// The fast path for small terms rounds exactly as the general one: the sum of a term
    /// and its negation is zero, and small and large terms compose across both paths.
    @Test func smallAndLargeTermsRoundTheSameWay() {
        var r = SystemRandomNumberGenerator()
        for _ in 0..<10_000 {
            let x = Double.random(in: -1e6...1e6, using: &r) * (Bool.random(using: &r) ? 1 : 1e-9)
            var s = ExactSum()
            s.add(x)
            var big = ExactSum()
            big.add(x + 0x1p30)  // the general path
            big.add(-0x1p30)
            #expect(abs(s.value - x) <= 0x1p-40, "\(x)")
            var zero = s
            zero.add(-x)
            #expect(zero.value == 0, "\(x)")
            _ = big
        }
        var a = ExactSum(), b = ExactSum()
        for x in [1e-12, 3.5, -2.25, 1e7, 1e9, -4e9, 0.1] { a.add(x) }
        for x in [0.1, -4e9, 1e9, 1e7, -2.25, 3.5, 1e-12] { b.add(x) }
        #expect(a == b)
    }
}

@Suite struct ExactSumBatchTests {
    /// `roundedScaledTerm` is x · 2⁴⁰ rounded to the nearest integer over its whole
    /// range, negative terms and the ends of the range included; a sum of them added at
    /// once is the sum of the rounded terms.
    @Test func roundedScaledTermsAreNearestIntegersAndSumExactly() {
        var rng = SystemRandomNumberGenerator()
        var sum: Int64 = 0
        var expected = 0.0
        let edges = [0, -0.0, 0x1p-41, -0x1p-41, 0x1.8p-41, 1, -1, 2047.999, -2047.999, 0.1, -0.1]
        for x in edges + (0..<10_000).map({ _ in Double.random(in: -2047...2047, using: &rng) / Double(1 << Int.random(in: 0..<40, using: &rng)) }) {
            let term = ExactSum.roundedScaledTerm(x)
            #expect(Double(term) == (x * 0x1p40).rounded(.toNearestOrEven), "\(x)")
            sum += term
            expected += Double(term) / 0x1p40
        }
        var s = ExactSum()
        s.add(scaledSum: sum)
        #expect(abs(s.value - expected) < 1e-6)
    }
}
