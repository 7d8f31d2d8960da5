#if os(watchOS)
import Foundation
import LatencyWatchCore
import UserNotifications
import WatchKit

/// Registers the LW_ALERT category (Acknowledge, Silence 1h) and answers its actions.
@MainActor
public final class NotificationHandler: NSObject, UNUserNotificationCenterDelegate {
    public let model: AppModel

    public init(model: AppModel) {
        self.model = model
        super.init()
    }

    public func install() {
        let ack = UNNotificationAction(identifier: PushPayload.acknowledgeAction, title: "Acknowledge", options: [])
        let silence = UNNotificationAction(identifier: PushPayload.silenceOneHourAction, title: "Silence 1h", options: [.destructive])
        let category = UNNotificationCategory(identifier: PushPayload.category, actions: [ack, silence], intentIdentifiers: [], options: [])
        let center = UNUserNotificationCenter.current()
        center.setNotificationCategories([category])
        center.delegate = self
        center.requestAuthorization(options: [.alert, .sound, .timeSensitive]) { granted, _ in
            guard granted else { return }
            DispatchQueue.main.async { WKApplication.shared().registerForRemoteNotifications() }
        }
    }

    nonisolated public func userNotificationCenter(_ center: UNUserNotificationCenter, willPresent notification: UNNotification) async -> UNNotificationPresentationOptions {
        let userInfo = notification.request.content.userInfo
        if let push = try? PushPayloadParser.parse(userInfo: userInfo) {
            await MainActor.run { model.playHaptic(for: push) }
        }
        return [.banner, .list]
    }

    nonisolated public func userNotificationCenter(_ center: UNUserNotificationCenter, didReceive response: UNNotificationResponse) async {
        guard let push = try? PushPayloadParser.parse(userInfo: response.notification.request.content.userInfo) else { return }
        let alertID = push.lw.alertID
        switch response.actionIdentifier {
        case PushPayload.acknowledgeAction:
            await model.refresh()
            if let alert = await model.alerts.first(where: { $0.id == alertID }) { await model.acknowledge(alert) }
        case PushPayload.silenceOneHourAction:
            await model.refresh()
            if let alert = await model.alerts.first(where: { $0.id == alertID }) { await model.silenceOneHour(alert) }
        default:
            await model.refresh()
        }
    }
}

/// WKApplicationDelegate that forwards the APNs device token to the watch API.
public final class LatencyWatchAppDelegate: NSObject, WKApplicationDelegate {
    @MainActor public static var model: AppModel?

    public func didRegisterForRemoteNotifications(withDeviceToken deviceToken: Data) {
        Task { @MainActor in await Self.model?.register(deviceToken: deviceToken) }
    }

    public func didFailToRegisterForRemoteNotificationsWithError(_ error: Error) {
        NSLog("LatencyWatch: remote notification registration failed: \(error.localizedDescription)")
    }
}
#endif
