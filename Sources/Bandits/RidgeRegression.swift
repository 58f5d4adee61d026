import COpenBLAS
import Common

/// Bayesian ridge regression kept as the Cholesky factor of its precision matrix:
/// A = λI + Σ x xᵀ = RᵀR with R upper triangular, b = Σ y x, θ = A⁻¹b.
///
/// Each observation is a rank-one update of R (O(d²)); nothing is ever inverted. The
/// quantities the linear bandits need come from triangular solves through OpenBLAS:
/// xᵀA⁻¹x = ‖R⁻ᵀx‖² (the confidence width of LinUCB) and θ + v·R⁻¹z with z ~ N(0, I),
/// a draw from N(θ, v²A⁻¹) (linear Thompson sampling).
public struct RidgeRegression: Sendable, Equatable {
    public let dimension: Int
    /// R, row-major, d × d (the strict lower triangle stays zero).
    var factor: [Double]
    var b: [Double]
    public private(set) var theta: [Double]
    public internal(set) var observations = 0

    public init(dimension: Int, regularization λ: Double = 1) {
        precondition(dimension > 0 && λ > 0)
        self.dimension = dimension
        factor = [Double](repeating: 0, count: dimension * dimension)
        for i in 0..<dimension { factor[i * dimension + i] = λ.squareRoot() }
        b = [Double](repeating: 0, count: dimension)
        theta = b
    }

    /// Adds the observation (x, y).
    public mutating func update(_ x: [Double], _ y: Double) {
        precondition(x.count == dimension, "feature vector has \(x.count) values, the model \(dimension)")
        let d = dimension
        var v = x
        // Rank-one update of the Cholesky factor: RᵀR + xxᵀ = R'ᵀR'.
        factor.withUnsafeMutableBufferPointer { r in
            for k in 0..<d {
                let rkk = r[k * d + k]
                let radius = (rkk * rkk + v[k] * v[k]).squareRoot()
                let c = radius / rkk
                let s = v[k] / rkk
                r[k * d + k] = radius
                for j in (k + 1)..<d {
                    r[k * d + j] = (r[k * d + j] + s * v[j]) / c
                    v[j] = c * v[j] - s * r[k * d + j]
                }
            }
        }
        for i in 0..<d { b[i] += y * x[i] }
        observations += 1
        recomputeTheta()
    }

    /// θ = A⁻¹b = R⁻¹(R⁻ᵀb).
    mutating func recomputeTheta() {
        theta = b
        solve(&theta, transposed: true)
        solve(&theta, transposed: false)
    }

    /// xᵀA⁻¹x: the squared width of the confidence ellipsoid along x.
    public func width(_ x: [Double]) -> Double {
        var y = x
        solve(&y, transposed: true)
        return y.withUnsafeBufferPointer { cblas_ddot(Int32(dimension), $0.baseAddress, 1, $0.baseAddress, 1) }
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
