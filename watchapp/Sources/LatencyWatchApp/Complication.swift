#if os(watchOS)
import LatencyWatchCore
import SwiftUI
import WidgetKit

/// Complication / Smart Stack widget: the worst current status.
public struct WorstStatusEntry: TimelineEntry {
    public let date: Date
    public let worst: StatusState
    public let firing: Int
    public let headline: String
}

public struct WorstStatusProvider: TimelineProvider {
    public init() {}

    public func placeholder(in context: Context) -> WorstStatusEntry {
        WorstStatusEntry(date: Date(), worst: .ok, firing: 0, headline: "All good")
    }

    public func getSnapshot(in context: Context, completion: @escaping (WorstStatusEntry) -> Void) {
        completion(placeholder(in: context))
    }

    public func getTimeline(in context: Context, completion: @escaping (Timeline<WorstStatusEntry>) -> Void) {
        Task {
            var entry = placeholder(in: context)
            if let settings = WatchSettings.load() {
                let api = APIClient(configuration: APIConfiguration(baseURL: settings.apiURL, token: TokenStore.read()))
                if let board = try? await api.statusBoard() {
                    let top = board.entries.first
                    entry = WorstStatusEntry(date: Date(), worst: board.worst, firing: board.firingAlerts,
                                             headline: top.map { "\($0.service) \(LatencyFormat.string(seconds: $0.value))" } ?? "No series")
                }
            }
            completion(Timeline(entries: [entry], policy: .after(Date().addingTimeInterval(15 * 60))))
        }
    }
}

public struct WorstStatusView: View {
    let entry: WorstStatusEntry

    public init(entry: WorstStatusEntry) { self.entry = entry }

    public var body: some View {
        ZStack {
            AccessoryWidgetBackground()
            VStack(spacing: 0) {
                Image(systemName: entry.worst == .ok ? "checkmark.circle" : "exclamationmark.triangle.fill")
                Text(entry.firing > 0 ? "\(entry.firing)" : entry.worst.rawValue).font(.caption2)
            }
        }
        .foregroundStyle(entry.worst.color)
        .widgetAccentable()
    }
}

public struct WorstStatusWidget: Widget {
    public init() {}

    public var body: some WidgetConfiguration {
        StaticConfiguration(kind: "LatencyWatchWorstStatus", provider: WorstStatusProvider()) { entry in
            WorstStatusView(entry: entry).containerBackground(.fill.tertiary, for: .widget)
        }
        .configurationDisplayName("Worst latency status")
        .description("The worst series on the LatencyWatch status board.")
        .supportedFamilies([.accessoryCircular, .accessoryCorner, .accessoryInline, .accessoryRectangular])
    }
}
#endif
