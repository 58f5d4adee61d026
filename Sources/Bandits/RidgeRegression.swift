import COpenBLAS
import Common
import Events
import StateFormat

/// Bayesian ridge regression: A = λI + Σ x xᵀ, b = Σ y x, θ = A⁻¹b.
///
/// The sufficient statistics Σ x xᵀ and Σ y x are exact sums (`ExactSum`), so models
/// learnt on shards and merged equal one model learnt sequentially, bit for bit. For
/// decisions the model also keeps the Cholesky factor A = RᵀR (R upper triangular),
/// updated by rank one per observation (O(d²); nothing is ever inverted) and refactored
/// through LAPACK after a merge or a restore. The quantities the linear bandits need
/// come from triangular solves through OpenBLAS: xᵀA⁻¹x = ‖R⁻ᵀx‖² (the confidence width
/// of LinUCB) and θ + v·R⁻¹z with z ~ N(0, I), a draw from N(θ, v²A⁻¹) (linear Thompson
/// sampling). Only the exact sums are state; the factor and θ follow from them.
public struct RidgeRegression: Sendable {
    public let dimension: Int
    public let regularization: Double
    /// Σ x xᵀ, upper triangle packed by rows: (i, j ≥ i) at i·d − i(i−1)/2 + (j − i),
    /// without the terms still in `pendingGram`.
    var gram: [ExactSum]
    /// Terms of Σ x xᵀ not yet added to `gram`, as 64-bit sums of
    /// `ExactSum.roundedScaledTerm`: d(d+1)/2 saturating 128-bit adds per observation
    /// cost LinUCB a fifth of its decide + update. Observations whose largest product
    /// |xᵢxⱼ| is 2¹¹ or more are added to `gram` directly. `gram` plus `pendingGram` is
    /// the exact sum.
    var pendingGram: [Int64]
    /// Σ (max|xᵢ|² + 2⁻⁴⁰) over the observations in `pendingGram`: no entry's magnitude
    /// exceeds it times 2⁴⁰, so none overflows while it stays below `pendingLimit`.
    var pendingBound = 0.0
    static let pendingLimit = 0x1p23
    /// Σ y x.
    var moment: [ExactSum]
    public internal(set) var observations: Int64 = 0
    /// R, row-major, d × d (the strict lower triangle stays zero).
    var factor: [Double]
    public private(set) var theta: [Double]

    public init(dimension: Int, regularization λ: Double = 1) {
        precondition(dimension > 0 && λ > 0)
        self.dimension = dimension
        regularization = λ
        gram = Array(repeating: ExactSum(), count: dimension * (dimension + 1) / 2)
        pendingGram = Array(repeating: 0, count: gram.count)
        moment = Array(repeating: ExactSum(), count: dimension)
        factor = [Double](repeating: 0, count: dimension * dimension)
        for i in 0..<dimension { factor[i * dimension + i] = λ.squareRoot() }
        theta = [Double](repeating: 0, count: dimension)
    }

    /// Adds the observation (x, y).
    public mutating func update(_ x: [Double], _ y: Double) {
        precondition(x.count == dimension, "feature vector has \(x.count) values, the model \(dimension)")
        let d = dimension
        var largest = 0.0
        // A NaN leaves `largest` NaN, so that it takes ExactSum's path, which drops it.
        for xi in x where !(abs(xi) <= largest) { largest = abs(xi) }
        largest *= largest
        if largest < ExactSum.roundedTermBound {
            let bound = largest + 0x1p-40
            if pendingBound + bound >= RidgeRegression.pendingLimit { settleGram() }
            pendingBound += bound
            // Two loops over the triangle rather than one taking a closure: through the
            // closure this one was no longer vectorised (LinUCB 0.99 -> 0.93 of d73c46d).
            pendingGram.withUnsafeMutableBufferPointer { g in
                x.withUnsafeBufferPointer { x in
                    var k = 0
                    for i in 0..<d {
                        let xi = x[i]
                        for j in i..<d {
                            g[k] &+= ExactSum.roundedScaledTerm(xi * x[j])
                            k += 1
                        }
                    }
                }
            }
        } else {
            gram.withUnsafeMutableBufferPointer { g in
                var k = 0
                for i in 0..<d {
                    let xi = x[i]
                    for j in i..<d {
                        g[k].add(xi * x[j])
                        k += 1
                    }
                }
            }
        }
        for i in 0..<d { moment[i].add(y * x[i]) }
        observations += 1
        var v = x
        // Rank-one update of the Cholesky factor: RᵀR + xxᵀ = R'ᵀR'.
        factor.withUnsafeMutableBufferPointer { r in
            for k in 0..<d {
                let rkk = r[k * d + k]
                let radius = (rkk * rkk + v[k] * v[k]).squareRoot()
                let c = radius / rkk
                let s = v[k] / rkk
                // One division per row, not per entry: the divisions led the update's profile.
                let inverseC = rkk / radius
                r[k * d + k] = radius
                for j in (k + 1)..<d {
                    r[k * d + j] = (r[k * d + j] + s * v[j]) * inverseC
                    v[j] = c * v[j] - s * r[k * d + j]
                }
            }
        }
        recomputeTheta()
    }

    /// Adds another model's statistics (same dimension and regularisation) and
    /// refactors.
    public mutating func merge(_ other: RidgeRegression) {
        precondition(other.dimension == dimension)
        for k in gram.indices {
            gram[k].add(other.gram[k])
            gram[k].add(scaledSum: other.pendingGram[k])
        }
        for i in moment.indices { moment[i].add(other.moment[i]) }
        observations += other.observations
        refactor()
    }

    /// Moves `pendingGram` into `gram`.
    mutating func settleGram() {
        for k in gram.indices { gram[k].add(scaledSum: pendingGram[k]) }
        for k in pendingGram.indices { pendingGram[k] = 0 }
        pendingBound = 0
    }

    /// Σ x xᵀ, every term included.
    var exactGram: [ExactSum] {
        gram.indices.map { k in
            var sum = gram[k]
            sum.add(scaledSum: pendingGram[k])
            return sum
        }
    }

    /// R from the exact statistics: the Cholesky factorisation of λI + Σ x xᵀ.
    mutating func refactor() {
        settleGram()
        let d = dimension
        var a = [Double](repeating: 0, count: d * d)
        var k = 0
        for i in 0..<d {
            for j in i..<d {
                a[i * d + j] = gram[k].value + (i == j ? regularization : 0)
                k += 1
            }
        }
        // LAPACK's Cholesky in OpenBLAS (Fortran interface, column-major): the row-major
        // upper triangle is the column-major lower one, and its factor L is R = Lᵀ.
        var n = Int32(d), lda = Int32(d), info: Int32 = 0
        var uplo = CChar(UInt8(ascii: "L"))
        a.withUnsafeMutableBufferPointer { dpotrf_(&uplo, &n, $0.baseAddress, &lda, &info, 1) }
        // λI + a Gram matrix is positive definite; a failure can only come from sums that
        // saturated, which the codec's bounds on inputs rule out. Keep the prior then.
        if info != 0 {
            a = [Double](repeating: 0, count: d * d)
            for i in 0..<d { a[i * d + i] = regularization.squareRoot() }
        }
        factor = a
        recomputeTheta()
    }

    /// θ = A⁻¹b = R⁻¹(R⁻ᵀb).
    mutating func recomputeTheta() {
        for i in theta.indices { theta[i] = moment[i].value }
        solve(&theta, transposed: true)
        solve(&theta, transposed: false)
    }

    /// xᵀA⁻¹x: the squared width of the confidence ellipsoid along x.
    public func width(_ x: [Double]) -> Double {
        precondition(x.count == dimension)
        let d = Int32(dimension)
        // On the stack: a decision asks this of every eligible arm.
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: dimension) { y in
            _ = y.initialize(from: x)
            factor.withUnsafeBufferPointer { r in
                cblas_dtrsv(CblasRowMajor, CblasUpper, CblasTrans, CblasNonUnit, d, r.baseAddress, d, y.baseAddress, 1)
            }
            return cblas_ddot(d, y.baseAddress, 1, y.baseAddress, 1)
        }
    }

    /// θᵀx + α·√(xᵀA⁻¹x).
    public func upperBound(_ x: [Double], width alpha: Double) -> Double {
        predict(x) + alpha * width(x).squareRoot()
    }

    /// θᵀx.
    public func predict(_ x: [Double]) -> Double {
        theta.withUnsafeBufferPointer { t in
            x.withUnsafeBufferPointer { cblas_ddot(Int32(dimension), t.baseAddress, 1, $0.baseAddress, 1) }
        }
    }

    /// A draw of the coefficients from N(θ, v²A⁻¹).
    public func sample(scale v: Double, _ random: inout SeededRandom) -> [Double] {
        var w = (0..<dimension).map { _ in random.normal() }
        solve(&w, transposed: false)
        return (0..<dimension).map { theta[$0] + v * w[$0] }
    }

    /// Solves R·y = v (or Rᵀ·y = v) in place.
    private func solve(_ v: inout [Double], transposed: Bool) {
        let d = Int32(dimension)
        factor.withUnsafeBufferPointer { r in
            v.withUnsafeMutableBufferPointer { y in
                cblas_dtrsv(CblasRowMajor, CblasUpper, transposed ? CblasTrans : CblasNoTrans, CblasNonUnit, d, r.baseAddress, d, y.baseAddress, 1)
            }
        }
    }
}

extension RidgeRegression: Equatable {
    /// Equal statistics: the factor follows from them (up to rounding, by rank-one updates
    /// or by a factorisation, depending on how the model was built).
    public static func == (a: RidgeRegression, b: RidgeRegression) -> Bool {
        a.dimension == b.dimension && a.regularization == b.regularization && a.observations == b.observations && a.exactGram == b.exactGram
            && a.moment == b.moment
    }
}

extension RidgeRegression: StateCodable {
    public static let stateVersion: UInt16 = 2

    public func encode(to w: inout StateWriter) {
        w.writeVarint(UInt64(dimension))
        w.write(regularization)
        w.write(observations)
        for g in exactGram { g.encode(to: &w) }
        for m in moment { m.encode(to: &w) }
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        guard version == 2 else { throw StateFormatError("ridge state version \(version) is not 2") }
        let d = try r.readCount(elementSize: 16)
        let lambda = try r.readDouble()
        guard d > 0, d * (d + 1) / 2 <= r.remaining / 16 else { throw StateFormatError("ridge dimension \(d) does not fit the state") }
        guard lambda > 0, lambda.isFinite else { throw StateFormatError("ridge regularization \(lambda) is not positive") }
        self.init(dimension: d, regularization: lambda)
        observations = try r.readInt64()
        for k in gram.indices { gram[k] = try ExactSum(from: &r) }
        for i in 0..<d { moment[i] = try ExactSum(from: &r) }
        refactor()
    }
}
