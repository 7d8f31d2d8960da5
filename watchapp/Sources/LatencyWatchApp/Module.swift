// LatencyWatchApp: the watchOS SwiftUI layer on top of LatencyWatchCore.
// Everything else in this target is behind `#if os(watchOS)`; this file keeps
// the module non-empty on Linux, where only LatencyWatchCore is built and tested.
import LatencyWatchCore

public enum LatencyWatchAppInfo {
    /// The notification category the watch app registers (same as the apns exporter's).
    public static let notificationCategory = PushPayload.category
}
