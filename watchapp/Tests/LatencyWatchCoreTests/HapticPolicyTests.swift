import XCTest
@testable import LatencyWatchCore

final class HapticPolicyTests: XCTestCase {
    let policy = HapticPolicy(criticalRepeats: 3, repeatInterval: 1.5)

    func testSeverityMapping() {
        XCTAssertEqual(policy.plan(severity: .info, state: .firing), .none)
        XCTAssertEqual(policy.plan(severity: .warning, state: .firing), HapticPlan(haptic: .notification, count: 1, interval: 0))
        XCTAssertEqual(policy.plan(severity: .critical, state: .firing), HapticPlan(haptic: .failure, count: 3, interval: 1.5))
    }

    func testAcknowledgedAndSilencedNeverBuzz() {
        for s in Severity.allCases {
            XCTAssertTrue(policy.plan(severity: s, state: .firing, acknowledged: true).isSilent, "\(s)")
            XCTAssertTrue(policy.plan(severity: s, state: .firing, silenced: true).isSilent, "\(s)")
        }
    }

    func testResolved() {
        XCTAssertEqual(policy.plan(severity: .critical, state: .resolved), HapticPlan(haptic: .success, count: 1, interval: 0))
        XCTAssertTrue(HapticPolicy(hapticOnResolve: false).plan(severity: .critical, state: .resolved).isSilent)
    }

    func testBoundsAreClamped() {
        let p = HapticPolicy(criticalRepeats: 0, repeatInterval: 0)
        XCTAssertEqual(p.plan(severity: .critical, state: .firing), HapticPlan(haptic: .failure, count: 1, interval: 0.5))
    }

    func testPlansFromFixtures() throws {
        let acked = try WatchJSON.decoder().decode(Alert.self, from: Fixture.data("api/alert_acknowledged.json"))
        XCTAssertTrue(policy.plan(for: acked).isSilent, "acknowledged critical alert")
        let firing = try WatchJSON.decoder().decode(Alert.self, from: Fixture.data("api/alert.json"))
        XCTAssertEqual(policy.plan(for: firing).count, 3)
        let push = try PushPayloadParser.parse(Fixture.data("push/alert_warning.json"))
        XCTAssertEqual(policy.plan(for: push).haptic, .notification)
    }
}
