import Foundation

// Codable models of the watch API (extension/watchapiextension/openapi.yaml).
// Field names follow the JSON (snake_case) through CodingKeys; the golden
// fixtures in Tests/Fixtures are written by the Go tests and decoded here.

public enum Environment: String, Codable, Sendable, CaseIterable {
    case production, development
}

public enum Severity: String, Codable, Sendable, CaseIterable, Comparable {
    case info, warning, critical

    public var rank: Int {
        switch self {
        case .info: return 1
        case .warning: return 2
        case .critical: return 3
        }
    }

    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

public enum AlertState: String, Codable, Sendable, CaseIterable {
    case firing, resolved
}

public enum StatusState: String, Codable, Sendable, CaseIterable, Comparable {
    case ok, unknown, warning, critical

    /// Worse states rank higher (same order as the Go board).
    public var rank: Int {
        switch self {
        case .ok: return 1
        case .unknown: return 2
        case .warning: return 3
        case .critical: return 4
        }
    }

    public static func < (a: StatusState, b: StatusState) -> Bool { a.rank < b.rank }
}

public enum SilenceState: String, Codable, Sendable, CaseIterable {
    case pending, active, expired
}

public struct Device: Codable, Sendable, Equatable {
    public var token: String
    public var environment: Environment
    public var topic: String
    public var user: String
    public var teams: [String]
    public var name: String?
    public var registeredAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case token, environment, topic, user, teams, name
        case registeredAt = "registered_at"
        case updatedAt = "updated_at"
    }
}

public struct DeviceList: Codable, Sendable, Equatable {
    public var devices: [Device]
}

public struct RegisterDeviceRequest: Codable, Sendable, Equatable {
    public var token: String
    public var environment: Environment
    public var topic: String
    public var user: String
    public var teams: [String]
    public var name: String?

    public init(token: String, environment: Environment, topic: String, user: String, teams: [String] = [], name: String? = nil) {
        self.token = token
        self.environment = environment
        self.topic = topic
        self.user = user
        self.teams = teams
        self.name = name
    }

    /// Builds the request from the raw token APNs hands the app.
    public init(deviceToken: Data, environment: Environment, topic: String, user: String, teams: [String] = [], name: String? = nil) {
        self.init(token: deviceToken.map { String(format: "%02x", $0) }.joined(),
                  environment: environment, topic: topic, user: user, teams: teams, name: name)
    }
}

public struct Alert: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var groupKey: String
    public var labels: [String: String]
    public var series: String
    public var state: AlertState
    public var severity: Severity
    public var value: Double
    public var expected: Double
    public var score: Double
    public var since: Date
    public var updated: Date
    public var resolvedAt: Date?
    public var link: String?
    public var acknowledgedBy: String?
    public var acknowledgedAt: Date?
    public var silencedBy: [String]

    public var isAcknowledged: Bool { acknowledgedAt != nil }
    public var isSilenced: Bool { !silencedBy.isEmpty }
    public var team: String? { labels["team"] ?? labels["owner.team"] ?? labels["service.owner"] }
    public var region: String? { labels["cloud.region"] ?? labels["region"] }
    public var service: String? { labels["service.name"] ?? labels["service"] }

    enum CodingKeys: String, CodingKey {
        case id, labels, series, state, severity, value, expected, score, since, updated, link
        case groupKey = "group_key"
        case resolvedAt = "resolved_at"
        case acknowledgedBy = "acknowledged_by"
        case acknowledgedAt = "acknowledged_at"
        case silencedBy = "silenced_by"
    }
}

public struct AlertList: Codable, Sendable, Equatable {
    public var alerts: [Alert]
}

public struct StatusEntry: Codable, Sendable, Equatable, Identifiable {
    public var series: String
    public var service: String
    public var labels: [String: String]
    public var value: Double
    public var expected: Double
    public var score: Double
    public var state: StatusState
    public var since: Date
    public var updated: Date

    public var id: String { series }
}

public struct StatusBoard: Codable, Sendable, Equatable {
    public var entries: [StatusEntry]
    public var worst: StatusState
    public var firingAlerts: Int
    public var generatedAt: Date

    enum CodingKeys: String, CodingKey {
        case entries, worst
        case firingAlerts = "firing_alerts"
        case generatedAt = "generated_at"
    }
}

public struct Matcher: Codable, Sendable, Equatable {
    public enum Op: String, Codable, Sendable {
        case equal = "=", notEqual = "!=", regexp = "=~", notRegexp = "!~"
    }

    public var name: String
    public var op: Op
    public var value: String

    public init(name: String, op: Op, value: String) {
        self.name = name
        self.op = op
        self.value = value
    }
}

public struct Silence: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var matchers: [Matcher]
    public var startsAt: Date
    public var endsAt: Date
    public var createdBy: String
    public var comment: String
    public var createdAt: Date
    public var state: SilenceState

    enum CodingKeys: String, CodingKey {
        case id, matchers, comment, state
        case startsAt = "starts_at"
        case endsAt = "ends_at"
        case createdBy = "created_by"
        case createdAt = "created_at"
    }
}

public struct SilenceList: Codable, Sendable, Equatable {
    public var silences: [Silence]
}

public struct CreateSilenceRequest: Codable, Sendable, Equatable {
    public var matchers: [Matcher]
    public var startsAt: Date?
    public var endsAt: Date?
    public var durationSeconds: Int?
    public var createdBy: String
    public var comment: String?

    public init(matchers: [Matcher], startsAt: Date? = nil, endsAt: Date? = nil, durationSeconds: Int? = nil, createdBy: String, comment: String? = nil) {
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.durationSeconds = durationSeconds
        self.createdBy = createdBy
        self.comment = comment
    }

    enum CodingKeys: String, CodingKey {
        case matchers, comment
        case startsAt = "starts_at"
        case endsAt = "ends_at"
        case durationSeconds = "duration_seconds"
        case createdBy = "created_by"
    }
}

public struct Counts: Codable, Sendable, Equatable {
    public var devices: Int
    public var alerts: Int
    public var firingAlerts: Int
    public var activeSilences: Int
    public var statusEntries: Int
    public var subscribers: Int

    enum CodingKeys: String, CodingKey {
        case devices, alerts, subscribers
        case firingAlerts = "firing_alerts"
        case activeSilences = "active_silences"
        case statusEntries = "status_entries"
    }
}

public struct Health: Codable, Sendable, Equatable {
    public var status: String
    public var version: String
    /// Present only when the request carried valid credentials.
    public var counts: Counts?
}

/// One server-sent event of GET /v1/events.
public struct AlertEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case updated = "alert.updated"
        case removed = "alert.removed"
    }

    public var kind: Kind
    public var alert: Alert
    public var at: Date
}

/// The body of every API error.
public struct APIErrorResponse: Codable, Sendable, Equatable {
    public struct Body: Codable, Sendable, Equatable {
        public var code: String
        public var message: String
        public var field: String?
    }

    public var error: Body
}
