#if os(watchOS)
import Foundation
import LatencyWatchCore
import SwiftUI
import WatchKit

/// Settings the wearer enters once (or that MDM / the iPhone app provides).
public struct WatchSettings: Codable, Equatable, Sendable {
    public var apiURL: URL
    public var user: String
    public var teams: [String]
    public var environment: Environment

    public init(apiURL: URL, user: String, teams: [String], environment: Environment) {
        self.apiURL = apiURL
        self.user = user
        self.teams = teams
        self.environment = environment
    }

    static let defaultsKey = "LatencyWatchSettings"

    public static func load() -> WatchSettings? {
        guard let data = UserDefaults.standard.data(forKey: defaultsKey) else { return nil }
        return try? JSONDecoder().decode(WatchSettings.self, from: data)
    }

    public func save() {
        if let data = try? JSONEncoder().encode(self) {
            UserDefaults.standard.set(data, forKey: Self.defaultsKey)
        }
    }
}

/// The app's state: status board, alerts, and the actions the wearer takes.
@MainActor
public final class AppModel: ObservableObject {
    @Published public private(set) var board: StatusBoard?
    @Published public private(set) var alerts: [Alert] = []
    @Published public private(set) var lastError: String?
    @Published public private(set) var isLoading = false

    public let settings: WatchSettings
    public let haptics = HapticPolicy()
    private let api: APIClient

    public init(settings: WatchSettings, token: String?) {
        self.settings = settings
        self.api = APIClient(configuration: APIConfiguration(baseURL: settings.apiURL, token: token))
    }

    public func refresh() async {
        isLoading = true
        defer { isLoading = false }
        do {
            async let b = api.statusBoard()
            async let a = api.alerts(AlertFilter(state: .firing))
            board = try await b
            alerts = try await a
            lastError = nil
        } catch {
            lastError = Self.describe(error)
        }
    }

    public func acknowledge(_ alert: Alert) async {
        do {
            let updated = try await api.acknowledge(alertID: alert.id, by: settings.user, comment: "from Apple Watch")
            replace(updated)
            WKInterfaceDevice.current().play(.success)
        } catch {
            lastError = Self.describe(error)
            WKInterfaceDevice.current().play(.failure)
        }
    }

    public func silenceOneHour(_ alert: Alert) async {
        do {
            _ = try await api.silence(alertID: alert.id, for: 3600, by: settings.user, comment: "Silence 1h from Apple Watch")
            replace(try await api.alert(id: alert.id))
            WKInterfaceDevice.current().play(.success)
        } catch {
            lastError = Self.describe(error)
        }
    }

    /// Called with the token from didRegisterForRemoteNotificationsWithDeviceToken.
    public func register(deviceToken: Data) async {
        do {
            try await api.registerDevice(RegisterDeviceRequest(
                deviceToken: deviceToken, environment: settings.environment,
                topic: Bundle.main.bundleIdentifier ?? "", user: settings.user, teams: settings.teams,
                name: WKInterfaceDevice.current().name))
        } catch {
            lastError = Self.describe(error)
        }
    }

    /// Plays the policy's haptic for an incoming alert.
    public func playHaptic(for push: PushPayload) {
        HapticPlayer.play(haptics.plan(for: push))
    }

    private func replace(_ alert: Alert) {
        if let i = alerts.firstIndex(where: { $0.id == alert.id }) {
            alerts[i] = alert
        }
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case APIError.unauthorized: return "Not authorised — check the API token."
        case let APIError.rateLimited(retry, _): return "Busy — retry in \(Int(retry ?? 5))s."
        case let APIError.invalidRequest(_, message): return message
        case let APIError.transport(message): return "Offline: \(message)"
        default: return String(describing: error)
        }
    }
}

/// Maps HapticPlan to WKHapticType and plays repeats.
public enum HapticPlayer {
    public static func wk(_ h: Haptic) -> WKHapticType {
        switch h {
        case .notification: return .notification
        case .directionUp: return .directionUp
        case .directionDown: return .directionDown
        case .success: return .success
        case .failure: return .failure
        case .retry: return .retry
        case .click: return .click
        }
    }

    @MainActor
    public static func play(_ plan: HapticPlan) {
        guard let h = plan.haptic, plan.count > 0 else { return }
        for i in 0..<plan.count {
            DispatchQueue.main.asyncAfter(deadline: .now() + plan.interval * Double(i)) {
                WKInterfaceDevice.current().play(wk(h))
            }
        }
    }
}
#endif
