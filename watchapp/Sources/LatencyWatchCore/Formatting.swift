import Foundation

/// Latency and trend formatting for small screens. LatencyFormat follows the
/// same rules as Go's watchstate.FormatSeconds (push bodies and the app agree).
public enum LatencyFormat {
    /// 850µs, 12.3ms, 200ms, 1.42s, 12s.
    public static func string(seconds s: Double) -> String {
        let a = abs(s)
        if a == 0 { return "0ms" }
        if a < 1e-3 { return String(format: "%.0fµs", s * 1e6) }
        if a < 1 { return trimZeros(String(format: "%.1f", s * 1e3)) + "ms" }
        return trimZeros(String(format: "%.2f", s)) + "s"
    }

    static func trimZeros(_ v: String) -> String {
        guard v.contains(".") else { return v }
        var out = v
        while out.hasSuffix("0") { out.removeLast() }
        if out.hasSuffix(".") { out.removeLast() }
        return out
    }
}

/// How far a value is from what the model expected.
public struct Trend: Sendable, Equatable {
    public enum Direction: String, Sendable { case up, down, flat }

    public var direction: Direction
    /// value / expected; nil when nothing was expected.
    public var ratio: Double?

    /// Within ±10 % of the expectation counts as flat.
    public init(value: Double, expected: Double, tolerance: Double = 0.1) {
        guard expected > 0, value.isFinite, expected.isFinite else {
            direction = .flat
            ratio = nil
            return
        }
        let r = value / expected
        ratio = r
        direction = r > 1 + tolerance ? .up : (r < 1 - tolerance ? .down : .flat)
    }

    public var arrow: String {
        switch direction {
        case .up: return "↑"
        case .down: return "↓"
        case .flat: return "→"
        }
    }

    /// "↑ 6.0× expected", "↓ 0.5× expected", "→ as expected".
    public var text: String {
        guard let ratio else { return "→ no baseline" }
        if direction == .flat { return "→ as expected" }
        return arrow + " " + String(format: ratio >= 10 ? "%.0f" : "%.1f", ratio) + "× expected"
    }
}

public enum ScoreFormat {
    /// 0.97 → "97%".
    public static func string(_ score: Double) -> String {
        String(format: "%.0f%%", (min(max(score, 0), 1) * 100).rounded())
    }
}

public enum AgeFormat {
    /// Compact elapsed time: "now", "45s", "5m", "2h 3m", "3d 4h".
    public static func string(since: Date, now: Date = Date()) -> String {
        let secs = Int(now.timeIntervalSince(since).rounded(.down))
        if secs < 5 { return "now" }
        if secs < 60 { return "\(secs)s" }
        let m = secs / 60
        if m < 60 { return "\(m)m" }
        let h = m / 60
        if h < 24 { return m % 60 == 0 ? "\(h)h" : "\(h)h \(m % 60)m" }
        let d = h / 24
        return h % 24 == 0 ? "\(d)d" : "\(d)d \(h % 24)h"
    }
}
