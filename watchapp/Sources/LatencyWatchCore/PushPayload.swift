import Foundation

/// The APNs payload the apns exporter sends (Go: internal/watchstate.PushPayload):
/// Apple's `aps` dictionary plus LatencyWatch's data under `lw`.
public struct PushPayload: Decodable, Sendable, Equatable {
    public struct APS: Decodable, Sendable, Equatable {
        public struct AlertText: Decodable, Sendable, Equatable {
            public var title: String
            public var subtitle: String?
            public var body: String
        }

        public var alert: AlertText
        public var interruptionLevel: InterruptionLevel
        public var relevanceScore: Double
        public var category: String
        public var threadID: String
        /// True when `sound` is the critical-alert dictionary.
        public var criticalSound: Bool

        enum CodingKeys: String, CodingKey {
            case alert, category, sound
            case interruptionLevel = "interruption-level"
            case relevanceScore = "relevance-score"
            case threadID = "thread-id"
        }

        private struct SoundDict: Decodable {
            var critical: Int?
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            alert = try c.decode(AlertText.self, forKey: .alert)
            interruptionLevel = try c.decodeIfPresent(InterruptionLevel.self, forKey: .interruptionLevel) ?? .active
            relevanceScore = try c.decodeIfPresent(Double.self, forKey: .relevanceScore) ?? 0
            category = try c.decodeIfPresent(String.self, forKey: .category) ?? ""
            threadID = try c.decodeIfPresent(String.self, forKey: .threadID) ?? ""
            // sound is "default" or {"critical":1,...}; anything else is not critical.
            criticalSound = ((try? c.decodeIfPresent(SoundDict.self, forKey: .sound))??.critical ?? 0) == 1
        }
    }

    /// LatencyWatch's custom data: enough to show and acknowledge the alert offline.
    public struct Data: Decodable, Sendable, Equatable {
        public var alertID: String
        public var groupKey: String
        public var series: String
        public var state: AlertState
        public var severity: Severity
        public var value: Double
        public var expected: Double
        public var score: Double
        public var region: String?
        public var team: String?
        public var since: Date
        public var link: String?

        enum CodingKeys: String, CodingKey {
            case series, state, severity, value, expected, score, region, team, since, link
            case alertID = "alert_id"
            case groupKey = "group_key"
        }
    }

    public var aps: APS
    public var lw: Data

    /// The notification category the app registers, and its actions.
    public static let category = "LW_ALERT"
    public static let acknowledgeAction = "LW_ACK"
    public static let silenceOneHourAction = "LW_SILENCE_1H"
}

public enum InterruptionLevel: String, Decodable, Sendable {
    case passive, active
    case timeSensitive = "time-sensitive"
    case critical
}

public enum PushPayloadError: Error, Equatable {
    case notJSON(String)
    case notLatencyWatch(String)
}

public enum PushPayloadParser {
    /// Parses the raw APNs JSON.
    public static func parse(_ data: Foundation.Data) throws -> PushPayload {
        do {
            return try WatchJSON.decoder().decode(PushPayload.self, from: data)
        } catch let e as DecodingError {
            throw PushPayloadError.notLatencyWatch(String(describing: e))
        }
    }

    /// Parses a notification's `userInfo` (what UNNotificationContent and
    /// didReceiveRemoteNotification hand the app).
    public static func parse(userInfo: [AnyHashable: Any]) throws -> PushPayload {
        var dict: [String: Any] = [:]
        for (k, v) in userInfo {
            guard let key = k as? String else { continue }
            dict[key] = v
        }
        guard JSONSerialization.isValidJSONObject(dict) else {
            throw PushPayloadError.notJSON("userInfo is not a JSON object")
        }
        let data = try JSONSerialization.data(withJSONObject: dict)
        return try parse(data)
    }
}
