#if os(watchOS)
import LatencyWatchCore
import SwiftUI

extension StatusState {
    var color: Color {
        switch self {
        case .ok: return .green
        case .unknown: return .gray
        case .warning: return .orange
        case .critical: return .red
        }
    }
}

extension Severity {
    var color: Color {
        switch self {
        case .info: return .blue
        case .warning: return .orange
        case .critical: return .red
        }
    }
}

/// The main screen: firing alerts first, then the status board.
public struct StatusListView: View {
    @ObservedObject var model: AppModel

    public init(model: AppModel) { self.model = model }

    public var body: some View {
        NavigationStack {
            List {
                if let error = model.lastError {
                    Text(error).font(.footnote).foregroundStyle(.red)
                }
                if !model.alerts.isEmpty {
                    Section("Alerts") {
                        ForEach(model.alerts) { alert in
                            NavigationLink(value: alert.id) { AlertRow(alert: alert) }
                        }
                    }
                }
                Section("Status") {
                    ForEach(model.board?.entries ?? []) { entry in
                        StatusRow(entry: entry)
                    }
                }
            }
            .navigationTitle("LatencyWatch")
            .navigationDestination(for: String.self) { id in
                if let alert = model.alerts.first(where: { $0.id == id }) {
                    AlertDetailView(model: model, alert: alert)
                }
            }
            .refreshable { await model.refresh() }
            .task { await model.refresh() }
        }
    }
}

struct AlertRow: View {
    let alert: Alert

    var body: some View {
        VStack(alignment: .leading, spacing: 2) {
            HStack {
                Circle().fill(alert.severity.color).frame(width: 8, height: 8)
                Text(alert.series).font(.headline).lineLimit(2)
            }
            Text("\(LatencyFormat.string(seconds: alert.value)) \(Trend(value: alert.value, expected: alert.expected).text)")
                .font(.footnote)
            HStack {
                Text(AgeFormat.string(since: alert.since)).font(.caption2).foregroundStyle(.secondary)
                if alert.isAcknowledged { Image(systemName: "checkmark.circle.fill").foregroundStyle(.green) }
                if alert.isSilenced { Image(systemName: "bell.slash.fill").foregroundStyle(.secondary) }
            }
        }
    }
}

struct StatusRow: View {
    let entry: StatusEntry

    var body: some View {
        HStack {
            Circle().fill(entry.state.color).frame(width: 8, height: 8)
            VStack(alignment: .leading) {
                Text(entry.service).font(.headline)
                Text(entry.series).font(.caption2).foregroundStyle(.secondary).lineLimit(1)
            }
            Spacer()
            VStack(alignment: .trailing) {
                Text(LatencyFormat.string(seconds: entry.value)).font(.body.monospacedDigit())
                Text(Trend(value: entry.value, expected: entry.expected).arrow).font(.caption2)
            }
        }
    }
}

/// One alert with Acknowledge and Silence 1h.
public struct AlertDetailView: View {
    @ObservedObject var model: AppModel
    let alert: Alert

    public init(model: AppModel, alert: Alert) {
        self.model = model
        self.alert = alert
    }

    private var current: Alert { model.alerts.first(where: { $0.id == alert.id }) ?? alert }

    public var body: some View {
        ScrollView {
            VStack(alignment: .leading, spacing: 6) {
                Text(current.severity.rawValue.uppercased()).font(.caption).foregroundStyle(current.severity.color)
                Text(current.series).font(.headline)
                Text("Now \(LatencyFormat.string(seconds: current.value)), expected \(LatencyFormat.string(seconds: current.expected))")
                Text(Trend(value: current.value, expected: current.expected).text).font(.footnote)
                Text("Score \(ScoreFormat.string(current.score)) · for \(AgeFormat.string(since: current.since))").font(.footnote)
                if let region = current.region { Text(region).font(.caption2).foregroundStyle(.secondary) }
                if let by = current.acknowledgedBy {
                    Label("Acknowledged by \(by)", systemImage: "checkmark.circle").font(.footnote)
                } else {
                    Button("Acknowledge") { Task { await model.acknowledge(current) } }
                        .tint(.green)
                }
                Button("Silence 1h") { Task { await model.silenceOneHour(current) } }
                    .disabled(current.isSilenced)
            }
        }
        .navigationTitle("Alert")
    }
}
#endif
