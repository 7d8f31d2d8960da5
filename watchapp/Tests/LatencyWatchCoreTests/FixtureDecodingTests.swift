import Foundation
import XCTest
@testable import LatencyWatchCore


final class FixtureDecodingTests: XCTestCase {
    let decoder = WatchJSON.decoder()

    func decode<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        try decoder.decode(T.self, from: Fixture.data(name))
    }

    func testEveryAPIFixtureHasADecoder() throws {
        // A new response type on the Go side must come with a model here.
        let known: [String: (Data) throws -> Void] = [
            "alert.json": { _ = try self.decoder.decode(Alert.self, from: $0) },
            "alert_acknowledged.json": { _ = try self.decoder.decode(Alert.self, from: $0) },
            "alert_resolved.json": { _ = try self.decoder.decode(Alert.self, from: $0) },
            "alert_list.json": { _ = try self.decoder.decode(AlertList.self, from: $0) },
            "device.json": { _ = try self.decoder.decode(Device.self, from: $0) },
            "device_list.json": { _ = try self.decoder.decode(DeviceList.self, from: $0) },
            "status_board.json": { _ = try self.decoder.decode(StatusBoard.self, from: $0) },
            "silence.json": { _ = try self.decoder.decode(Silence.self, from: $0) },
            "silence_expired.json": { _ = try self.decoder.decode(Silence.self, from: $0) },
            "silence_list.json": { _ = try self.decoder.decode(SilenceList.self, from: $0) },
            "health.json": { _ = try self.decoder.decode(Health.self, from: $0) },
            "event.json": { _ = try self.decoder.decode(AlertEvent.self, from: $0) },
            "error_invalid_request.json": { _ = try self.decoder.decode(APIErrorResponse.self, from: $0) },
            "error_not_found.json": { _ = try self.decoder.decode(APIErrorResponse.self, from: $0) },
            "error_conflict.json": { _ = try self.decoder.decode(APIErrorResponse.self, from: $0) },
            "error_unauthorized.json": { _ = try self.decoder.decode(APIErrorResponse.self, from: $0) },
        ]
        let names = try Fixture.names("api")
        XCTAssertEqual(Set(names), Set(known.keys), "fixtures and decoders differ")
        for name in names {
            XCTAssertNoThrow(try known[name]!(Fixture.data("api/" + name)), name)
        }
    }

    func testAlert() throws {
        let a = try decode(Alert.self, "api/alert.json")
        XCTAssertEqual(a.id, "5eada364d3f72dc8")
        XCTAssertEqual(a.state, .firing)
        XCTAssertEqual(a.severity, .critical)
        XCTAssertEqual(a.series, "checkout p99 eu-west-1")
        XCTAssertEqual(a.value, 1.25)
        XCTAssertEqual(a.expected, 0.21)
        XCTAssertEqual(a.score, 0.97)
        XCTAssertEqual(a.since, utc("2026-11-25T11:55:00Z"))
        XCTAssertEqual(a.team, "payments")
        XCTAssertEqual(a.region, "eu-west-1")
        XCTAssertEqual(a.service, "checkout")
        XCTAssertEqual(a.link, "https://grafana.example.com/d/latency?var-service=checkout")
        XCTAssertFalse(a.isAcknowledged)
        XCTAssertFalse(a.isSilenced)
        XCTAssertNil(a.resolvedAt)
    }

    func testAcknowledgedAndResolvedAlerts() throws {
        let acked = try decode(Alert.self, "api/alert_acknowledged.json")
        XCTAssertTrue(acked.isAcknowledged)
        XCTAssertEqual(acked.acknowledgedBy, "ana@example.com")
        XCTAssertEqual(acked.acknowledgedAt, utc("2026-11-25T12:01:00Z"))
        let resolved = try decode(Alert.self, "api/alert_resolved.json")
        XCTAssertEqual(resolved.state, .resolved)
        XCTAssertEqual(resolved.resolvedAt, utc("2026-11-25T12:02:00Z"))
        XCTAssertEqual(resolved.acknowledgedBy, "ana@example.com", "the ack of the occurrence stays visible")
    }

    func testAlertList() throws {
        let list = try decode(AlertList.self, "api/alert_list.json")
        XCTAssertEqual(list.alerts.map(\.severity), [.critical, .warning])
        XCTAssertEqual(list.alerts[0].silencedBy, ["silence-0001"])
    }

    func testDevices() throws {
        let d = try decode(Device.self, "api/device.json")
        XCTAssertEqual(d.token.count, 64)
        XCTAssertEqual(d.environment, .development)
        XCTAssertEqual(d.topic, "dev.latencywatch.app.watchkitapp")
        XCTAssertEqual(d.teams, ["payments", "search"])
        XCTAssertEqual(d.name, "Ana's Watch")
        XCTAssertEqual(d.registeredAt, utc("2026-11-25T12:00:00Z"))
        let list = try decode(DeviceList.self, "api/device_list.json")
        XCTAssertEqual(list.devices.count, 2)
        XCTAssertEqual(list.devices[1].teams, [])
    }

    func testStatusBoard() throws {
        let b = try decode(StatusBoard.self, "api/status_board.json")
        XCTAssertEqual(b.worst, .critical)
        XCTAssertEqual(b.firingAlerts, 2)
        XCTAssertEqual(b.entries.map(\.state), [.critical, .warning, .ok], "worst first")
        XCTAssertEqual(b.entries[0].service, "checkout")
        XCTAssertEqual(b.entries[2].value, 0.084)
        XCTAssertEqual(b.entries.max(by: { $0.state < $1.state })?.state, b.worst)
    }

    func testSilences() throws {
        let s = try decode(Silence.self, "api/silence.json")
        XCTAssertEqual(s.state, .active)
        XCTAssertEqual(s.matchers.count, 3)
        XCTAssertTrue(s.matchers.allSatisfy { $0.op == .equal })
        XCTAssertEqual(s.endsAt.timeIntervalSince(s.startsAt), 3600)
        let expired = try decode(Silence.self, "api/silence_expired.json")
        XCTAssertEqual(expired.state, .expired)
        let list = try decode(SilenceList.self, "api/silence_list.json")
        XCTAssertEqual(Set(list.silences.map(\.state)), [.active, .pending])
        XCTAssertTrue(list.silences.flatMap(\.matchers).contains(Matcher(name: "team", op: .regexp, value: "ads|search")))
        XCTAssertTrue(list.silences.flatMap(\.matchers).contains(Matcher(name: "cloud.region", op: .notEqual, value: "eu-west-1")))
    }

    func testHealthAndEvent() throws {
        let h = try decode(Health.self, "api/health.json")
        XCTAssertEqual(h.status, "ok")
        XCTAssertEqual(h.counts?.devices, 2)
        let e = try decode(AlertEvent.self, "api/event.json")
        XCTAssertEqual(e.kind, .updated)
        XCTAssertEqual(e.alert.severity, .warning)
    }

    func testErrorsMapToTypedAPIErrors() throws {
        XCTAssertEqual(APIError.from(status: 400, body: try Fixture.data("api/error_invalid_request.json"), retryAfter: nil),
                       .invalidRequest(field: "environment", message: "environment: must be production or development, got \"staging\""))
        XCTAssertEqual(APIError.from(status: 401, body: try Fixture.data("api/error_unauthorized.json"), retryAfter: nil),
                       .unauthorized(message: "missing or invalid credentials"))
        XCTAssertEqual(APIError.from(status: 404, body: try Fixture.data("api/error_not_found.json"), retryAfter: nil),
                       .notFound(message: "alert not found"))
        if case let .conflict(code, _) = APIError.from(status: 409, body: try Fixture.data("api/error_conflict.json"), retryAfter: nil) {
            XCTAssertEqual(code, "conflict")
        } else {
            XCTFail("409 must map to conflict")
        }
        XCTAssertEqual(APIError.from(status: 429, body: Data("{\"error\":{\"code\":\"rate_limited\",\"message\":\"slow down\"}}".utf8), retryAfter: "2"),
                       .rateLimited(retryAfter: 2, message: "slow down"))
        XCTAssertEqual(APIError.from(status: 502, body: Data("<html>".utf8), retryAfter: nil),
                       .server(status: 502, code: nil, message: "HTTP 502"))
    }

    func testPushPayloads() throws {
        let crit = try PushPayloadParser.parse(Fixture.data("push/alert_critical.json"))
        XCTAssertEqual(crit.aps.interruptionLevel, .critical)
        XCTAssertTrue(crit.aps.criticalSound)
        XCTAssertEqual(crit.aps.category, PushPayload.category)
        XCTAssertEqual(crit.lw.severity, .critical)
        XCTAssertEqual(crit.lw.alertID, "feca94a9c6acb69f")
        XCTAssertEqual(crit.lw.team, "discovery")
        XCTAssertEqual(crit.aps.threadID, crit.lw.groupKey)
        XCTAssertEqual(crit.aps.relevanceScore, 0.97)

        let ts = try PushPayloadParser.parse(Fixture.data("push/alert_time_sensitive.json"))
        XCTAssertEqual(ts.aps.interruptionLevel, .timeSensitive)
        XCTAssertFalse(ts.aps.criticalSound)
        XCTAssertEqual(try PushPayloadParser.parse(Fixture.data("push/alert_warning.json")).aps.interruptionLevel, .active)
        XCTAssertEqual(try PushPayloadParser.parse(Fixture.data("push/alert_info.json")).aps.interruptionLevel, .passive)
        let resolved = try PushPayloadParser.parse(Fixture.data("push/alert_resolved.json"))
        XCTAssertEqual(resolved.lw.state, .resolved)
        XCTAssertEqual(resolved.aps.alert.title, "Resolved")
        XCTAssertEqual(try Fixture.names("push").count, 5)
    }

    func testPushPayloadFromUserInfo() throws {
        let obj = try JSONSerialization.jsonObject(with: Fixture.data("push/alert_warning.json")) as! [String: Any]
        var userInfo: [AnyHashable: Any] = [:]
        for (k, v) in obj { userInfo[k] = v }
        let p = try PushPayloadParser.parse(userInfo: userInfo)
        XCTAssertEqual(p.lw.severity, .warning)
        XCTAssertEqual(p.lw.since, utc("2026-11-25T11:59:00Z"))
        XCTAssertThrowsError(try PushPayloadParser.parse(userInfo: ["aps": ["alert": "hi"]]))
    }

    func testRFC3339() {
        XCTAssertEqual(RFC3339.parse("2026-11-25T12:00:00Z")?.timeIntervalSince1970, 1_795_608_000)
        XCTAssertEqual(RFC3339.parse("2026-11-25T12:00:00.5Z")?.timeIntervalSince1970, 1_795_608_000.5)
        let nanos = RFC3339.parse("2026-11-25T12:00:00.123456789Z")!.timeIntervalSince1970
        XCTAssertEqual(nanos, 1_795_608_000.123456789, accuracy: 1e-6)
        XCTAssertEqual(RFC3339.parse("2026-11-25T13:00:00+01:00"), RFC3339.parse("2026-11-25T12:00:00Z"))
        XCTAssertNil(RFC3339.parse("2026-11-25 12:00:00Z"))
        XCTAssertNil(RFC3339.parse("2026-11-25T12:00:00"))
        XCTAssertNil(RFC3339.parse("2026-13-25T12:00:00Z"))
        XCTAssertEqual(RFC3339.format(utc("2026-11-25T12:00:00Z")), "2026-11-25T12:00:00Z")
        XCTAssertEqual(RFC3339.format(utc("2026-11-25T12:00:00.25Z")), "2026-11-25T12:00:00.250Z")
        XCTAssertEqual(RFC3339.format(utc("2026-11-25T12:00:00.9996Z")), "2026-11-25T12:00:01Z")
    }

    func testRequestsEncodeAsTheSpecSays() throws {
        let enc = WatchJSON.encoder()
        let reg = RegisterDeviceRequest(deviceToken: Data([0xde, 0xad, 0xbe, 0xef]), environment: .production, topic: "t", user: "u", teams: ["a"])
        XCTAssertEqual(String(data: try enc.encode(reg), encoding: .utf8),
                       #"{"environment":"production","teams":["a"],"token":"deadbeef","topic":"t","user":"u"}"#)
        let sil = CreateSilenceRequest(matchers: [Matcher(name: "team", op: .regexp, value: "pay.*")], durationSeconds: 3600, createdBy: "ana")
        XCTAssertEqual(String(data: try enc.encode(sil), encoding: .utf8),
                       #"{"created_by":"ana","duration_seconds":3600,"matchers":[{"name":"team","op":"=~","value":"pay.*"}]}"#)
    }
}
