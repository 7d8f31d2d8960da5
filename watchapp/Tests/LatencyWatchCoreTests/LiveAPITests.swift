import Foundation
import XCTest
@testable import LatencyWatchCore

/// The Swift APIClient against a running otelcol-latencywatch (started by
/// scripts/swift-watch-live.sh with config/watch-e2e.yaml, which also publishes
/// one firing alert and a status entry through the ingest endpoints).
///
/// LW_API_URL / LW_API_TOKEN point at it. Without them the tests are skipped
/// when run by hand, but `make test` sets LW_REQUIRE_LIVE=1 so that a missing
/// server fails instead of passing quietly.
final class LiveAPITests: XCTestCase {
    func client(token: String? = nil) throws -> APIClient {
        let env = ProcessInfo.processInfo.environment
        guard let raw = env["LW_API_URL"], let url = URL(string: raw) else {
            if env["LW_REQUIRE_LIVE"] == "1" {
                XCTFail("LW_REQUIRE_LIVE=1 but LW_API_URL is not set: the live collector was not started")
            }
            throw XCTSkip("LW_API_URL not set; run through scripts/swift-watch-live.sh (make test-watch)")
        }
        return APIClient(configuration: APIConfiguration(baseURL: url, token: token ?? env["LW_API_TOKEN"], timeout: 10))
    }

    func testRegisterReadStatusAcknowledge() async throws {
        let api = try client()
        let health = try await api.health()
        XCTAssertEqual(health.status, "ok")
        XCTAssertNotNil(health.counts, "an authenticated client sees the board sizes")

        // Register this "watch" (the token APNs would hand the app).
        let token = Data((0..<32).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
        let device = try await api.registerDevice(RegisterDeviceRequest(
            deviceToken: token, environment: .development, topic: "dev.latencywatch.app.watchkitapp",
            user: "swift-test@example.com", teams: ["payments"], name: "Swift integration test"))
        XCTAssertEqual(device.token, token.map { String(format: "%02x", $0) }.joined())
        XCTAssertEqual(device.teams, ["payments"])
        let devices = try await api.devices(team: "payments")
        XCTAssertTrue(devices.contains { $0.token == device.token })

        // The status board the harness published.
        let board = try await api.statusBoard()
        XCTAssertFalse(board.entries.isEmpty, "the harness publishes a status entry before the tests")
        XCTAssertEqual(board.worst, board.entries.map(\.state).max())
        XCTAssertGreaterThanOrEqual(board.firingAlerts, 1)

        // Acknowledge the firing alert and see it acknowledged.
        let firing = try await api.alerts(AlertFilter(state: .firing, team: "payments"))
        guard let alert = firing.first else {
            return XCTFail("no firing payments alert on the board; the harness should have published one")
        }
        let acked = try await api.acknowledge(alertID: alert.id, by: "swift-test@example.com", comment: "from the Swift APIClient")
        XCTAssertEqual(acked.acknowledgedBy, "swift-test@example.com")
        let reread = try await api.alert(id: alert.id)
        XCTAssertTrue(reread.isAcknowledged)
        XCTAssertEqual(reread.acknowledgedBy, "swift-test@example.com")
        let ackedList = try await api.alerts(AlertFilter(acknowledged: true))
        XCTAssertTrue(ackedList.contains { $0.id == alert.id })

        // Silence 1h from the watch, then expire it.
        let silence = try await api.silence(alertID: alert.id, by: "swift-test@example.com")
        XCTAssertEqual(silence.state, .active)
        let silenced = try await api.alert(id: alert.id)
        XCTAssertEqual(silenced.silencedBy, [silence.id])
        let expired = try await api.expireSilence(id: silence.id)
        XCTAssertEqual(expired.state, .expired)

        // Un-acknowledge restores the alert for the next run, and unregister cleans up.
        let unacked = try await api.unacknowledge(alertID: alert.id)
        XCTAssertFalse(unacked.isAcknowledged)
        try await api.unregisterDevice(token: device.token)
    }

    func testTypedErrors() async throws {
        let api = try client()
        do {
            _ = try await api.alert(id: "does-not-exist")
            XCTFail("expected notFound")
        } catch let e as APIError {
            XCTAssertEqual(e, .notFound(message: "alert not found"))
        }
        do {
            try await api.registerDevice(RegisterDeviceRequest(token: "abc", environment: .production, topic: "t", user: "u"))
            XCTFail("expected invalidRequest")
        } catch let APIError.invalidRequest(field, _) {
            XCTAssertEqual(field, "token")
        }
        let wrong = try client(token: "not-the-token")
        do {
            _ = try await wrong.statusBoard()
            XCTFail("expected unauthorized")
        } catch let e as APIError {
            XCTAssertEqual(e, .unauthorized(message: "missing or invalid credentials"))
        }
    }
}
