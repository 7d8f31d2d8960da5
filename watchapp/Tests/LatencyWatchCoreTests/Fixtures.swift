import Foundation
import XCTest
@testable import LatencyWatchCore

/// The golden files written by the Go tests (extension/watchapiextension/fixtures_test.go).
enum Fixture {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func data(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Data {
        let url = root.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            XCTFail("missing fixture \(url.path); run LW_UPDATE_FIXTURES=1 go test ./extension/watchapiextension", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        return data
    }

    static func names(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(dir).path).filter { $0.hasSuffix(".json") }.sorted()
    }
}

func utc(_ s: String) -> Date {
    guard let d = RFC3339.parse(s) else { fatalError("bad test time \(s)") }
    return d
}
