import Foundation

/// Haptic patterns the app can play; the watchOS layer maps them to WKHapticType.
public enum Haptic: String, Sendable, Equatable, CaseIterable {
    case notification, directionUp, directionDown, success, failure, retry, click
}

/// What to play for one alert: `haptic` `count` times, `interval` seconds apart.
public struct HapticPlan: Sendable, Equatable {
    public var haptic: Haptic?
    public var count: Int
    public var interval: TimeInterval

    public static let none = HapticPlan(haptic: nil, count: 0, interval: 0)

    public var isSilent: Bool { haptic == nil || count == 0 }
}

/// Severity → haptic. A wrist that buzzes for noise gets muted within a day, so:
/// info is silent, warning taps once, critical repeats (until acknowledged),
/// resolved gives one "success"; acknowledged or silenced alerts never buzz.
public struct HapticPolicy: Sendable, Equatable {
    /// How many times a critical alert repeats its haptic.
    public var criticalRepeats: Int
    /// Seconds between critical repeats.
    public var repeatInterval: TimeInterval
    /// Whether resolved notices play a haptic at all.
    public var hapticOnResolve: Bool

    public init(criticalRepeats: Int = 3, repeatInterval: TimeInterval = 1.5, hapticOnResolve: Bool = true) {
        self.criticalRepeats = max(1, criticalRepeats)
        self.repeatInterval = max(0.5, repeatInterval)
        self.hapticOnResolve = hapticOnResolve
    }

    public func plan(severity: Severity, state: AlertState, acknowledged: Bool = false, silenced: Bool = false) -> HapticPlan {
        if acknowledged || silenced { return .none }
        if state == .resolved {
            return hapticOnResolve ? HapticPlan(haptic: .success, count: 1, interval: 0) : .none
        }
        switch severity {
        case .info:
            return .none
        case .warning:
            return HapticPlan(haptic: .notification, count: 1, interval: 0)
        case .critical:
            return HapticPlan(haptic: .failure, count: criticalRepeats, interval: repeatInterval)
        }
    }

    public func plan(for alert: Alert) -> HapticPlan {
        plan(severity: alert.severity, state: alert.state, acknowledged: alert.isAcknowledged, silenced: alert.isSilenced)
    }

    public func plan(for push: PushPayload) -> HapticPlan {
        plan(severity: push.lw.severity, state: push.lw.state)
    }
}
