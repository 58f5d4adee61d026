/// maximise cᵀx subject to Ax ≤ b, x ≥ 0, with b ≥ 0 — the form every pricing plan takes
/// (capacities and probabilities are never negative), so the origin is feasible and the
/// simplex method needs no first phase.
///
/// Dense tableau with Bland's rule (the entering and leaving variables of lowest index),
/// which cannot cycle on the degenerate vertices these programs are full of (a product
/// with no stock left). Sized for a plan per decision: a few products × a few price points.
public struct LinearProgram: Sendable {
    public var objective: [Double]
    public var constraints: [[Double]]
    public var bounds: [Double]

    public init(objective: [Double], constraints: [[Double]], bounds: [Double]) {
        precondition(constraints.count == bounds.count, "one bound per constraint")
        precondition(constraints.allSatisfy { $0.count == objective.count }, "one coefficient per variable in every constraint")
        precondition(bounds.allSatisfy { $0 >= 0 }, "bounds must not be negative")
        self.objective = objective
        self.constraints = constraints
        self.bounds = bounds
    }

    /// An optimal x and its objective value. The problem is bounded whenever every
    /// variable with a positive objective coefficient appears with a positive coefficient
    /// in some constraint; an unbounded problem traps.
    public func solve() -> (x: [Double], value: Double) {
        let n = objective.count, m = bounds.count
        let width = n + m + 1
        // Rows 0..<m: constraints with slack columns; row m: the reduced costs (−c).
        var t = [Double](repeating: 0, count: (m + 1) * width)
        for i in 0..<m {
            for j in 0..<n { t[i * width + j] = constraints[i][j] }
            t[i * width + n + i] = 1
            t[i * width + width - 1] = bounds[i]
        }
        for j in 0..<n { t[m * width + j] = -objective[j] }
        var basis = (0..<m).map { n + $0 }
        let eps = 1e-12
        while true {
            guard let enter = (0..<(n + m)).first(where: { t[m * width + $0] < -eps }) else { break }
            var leave = -1
            var ratio = Double.infinity
            for i in 0..<m where t[i * width + enter] > eps {
                let r = t[i * width + width - 1] / t[i * width + enter]
                if r < ratio - eps || (abs(r - ratio) <= eps && leave >= 0 && basis[i] < basis[leave]) {
                    ratio = r
                    leave = i
                }
            }
            precondition(leave >= 0, "unbounded linear program")
            let pivot = t[leave * width + enter]
            for j in 0..<width { t[leave * width + j] /= pivot }
            for i in 0...m where i != leave {
                let f = t[i * width + enter]
                if f == 0 { continue }
                for j in 0..<width { t[i * width + j] -= f * t[leave * width + j] }
            }
            basis[leave] = enter
        }
        var x = [Double](repeating: 0, count: n)
        for (i, b) in basis.enumerated() where b < n { x[b] = max(0, t[i * width + width - 1]) }
        return (x, zip(objective, x).reduce(0) { $0 + $1.0 * $1.1 })
    }
}
