// The @main entry point of the watchOS app target in Xcode (not part of the
// Swift package: SwiftPM cannot build a watchOS app bundle). Add this file to a
// "Watch App" target that links the LatencyWatchApp package product; see
// watchapp/README.md.
#if os(watchOS)
import LatencyWatchApp
import LatencyWatchCore
import SwiftUI

@main
struct LatencyWatchWatchApp: App {
    @WKApplicationDelegateAdaptor(LatencyWatchAppDelegate.self) private var delegate
    @StateObject private var model: AppModel
    private let notifications: NotificationHandler

    init() {
        let settings = WatchSettings.load() ?? WatchSettings(
            apiURL: URL(string: "https://latencywatch.example.com:9443")!, user: "oncall@example.com",
            teams: [], environment: .development)
        let model = AppModel(settings: settings, token: TokenStore.read())
        _model = StateObject(wrappedValue: model)
        notifications = NotificationHandler(model: model)
        LatencyWatchAppDelegate.model = model
        notifications.install()
    }

    var body: some Scene {
        WindowGroup { StatusListView(model: model) }
    }
}
#endif
