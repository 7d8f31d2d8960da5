import XCTest
@testable import LatencyWatchCore

final class FormattingTests: XCTestCase {
    func testLatencyMatchesGoFormatSeconds() {
        // Same table as internal/watchstate/push_test.go TestFormatSeconds.
        let table: [(Double, String)] = [(0, "0ms"), (0.00085, "850µs"), (0.0123, "12.3ms"), (0.2, "200ms"), (1.42, "1.42s"), (1.2, "1.2s"), (12, "12s")]
        for (v, want) in table {
            XCTAssertEqual(LatencyFormat.string(seconds: v), want, "\(v)")
        }
    }

    func testPushBodyUsesTheSameFormatting() throws {
        let p = try PushPayloadParser.parse(Fixture.data("push/alert_warning.json"))
        XCTAssertTrue(p.aps.alert.body.contains(LatencyFormat.string(seconds: p.lw.value)), p.aps.alert.body)
        XCTAssertTrue(p.aps.alert.body.contains(LatencyFormat.string(seconds: p.lw.expected)), p.aps.alert.body)
    }

    func testTrend() {
        XCTAssertEqual(Trend(value: 1.25, expected: 0.21).direction, .up)
        XCTAssertEqual(Trend(value: 1.25, expected: 0.21).text, "↑ 6.0× expected")
        XCTAssertEqual(Trend(value: 3, expected: 0.2).text, "↑ 15× expected")
        XCTAssertEqual(Trend(value: 0.1, expected: 0.2).text, "↓ 0.5× expected")
        XCTAssertEqual(Trend(value: 0.205, expected: 0.2).text, "→ as expected")
        XCTAssertEqual(Trend(value: 1, expected: 0).text, "→ no baseline")
        XCTAssertNil(Trend(value: .nan, expected: 1).ratio)
    }

    func testScoreAndAge() {
        XCTAssertEqual(ScoreFormat.string(0.97), "97%")
        XCTAssertEqual(ScoreFormat.string(1.7), "100%")
        let t0 = utc("2026-11-25T12:00:00Z")
        XCTAssertEqual(AgeFormat.string(since: t0, now: t0.addingTimeInterval(2)), "now")
        XCTAssertEqual(AgeFormat.string(since: t0, now: t0.addingTimeInterval(45)), "45s")
        XCTAssertEqual(AgeFormat.string(since: t0, now: t0.addingTimeInterval(300)), "5m")
        XCTAssertEqual(AgeFormat.string(since: t0, now: t0.addingTimeInterval(2 * 3600 + 180)), "2h 3m")
        XCTAssertEqual(AgeFormat.string(since: t0, now: t0.addingTimeInterval(7200)), "2h")
        XCTAssertEqual(AgeFormat.string(since: t0, now: t0.addingTimeInterval(3 * 86400 + 4 * 3600)), "3d 4h")
    }

    func testClientBuildsEscapedURLs() {
        let c = APIClient(configuration: APIConfiguration(baseURL: URL(string: "https://watch.example:9443/")!, token: "t"))
        XCTAssertEqual(c.url(path: ["v1", "alerts", "a/b c", "ack"], query: [])?.absoluteString,
                       "https://watch.example:9443/v1/alerts/a%2Fb%20c/ack")
        XCTAssertEqual(c.url(path: ["v1", "alerts"], query: AlertFilter(state: .firing, acknowledged: false, limit: 5).queryItems)?.absoluteString,
                       "https://watch.example:9443/v1/alerts?state=firing&acknowledged=false&limit=5")
    }
}
