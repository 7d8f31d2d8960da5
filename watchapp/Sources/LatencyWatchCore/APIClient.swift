import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where the watch API is and how to authenticate to it.
public struct APIConfiguration: Sendable, Equatable {
    public var baseURL: URL
    /// Bearer token (the watch_api's bearertokenauth token); nil sends no Authorization header.
    public var token: String?
    public var timeout: TimeInterval

    public init(baseURL: URL, token: String?, timeout: TimeInterval = 15) {
        self.baseURL = baseURL
        self.token = token
        self.timeout = timeout
    }
}

/// Every way a call can fail, typed so the UI can react (re-login on
/// unauthorized, back off on rateLimited, show the field on invalidRequest).
public enum APIError: Error, Equatable, Sendable {
    case invalidRequest(field: String?, message: String)
    case unauthorized(message: String)
    case forbidden(message: String)
    case notFound(message: String)
    case conflict(code: String, message: String)
    case payloadTooLarge(message: String)
    case rateLimited(retryAfter: TimeInterval?, message: String)
    case server(status: Int, code: String?, message: String)
    case unexpectedStatus(Int)
    case transport(String)
    case decoding(String)

    /// Maps a non-2xx answer to an error, using the API's error body when present.
    public static func from(status: Int, body: Data, retryAfter: String?) -> APIError {
        let parsed = try? WatchJSON.decoder().decode(APIErrorResponse.self, from: body)
        let message = parsed?.error.message ?? "HTTP \(status)"
        switch status {
        case 400: return .invalidRequest(field: parsed?.error.field, message: message)
        case 401: return .unauthorized(message: message)
        case 403: return .forbidden(message: message)
        case 404: return .notFound(message: message)
        case 409: return .conflict(code: parsed?.error.code ?? "conflict", message: message)
        case 413: return .payloadTooLarge(message: message)
        case 429: return .rateLimited(retryAfter: retryAfter.flatMap(TimeInterval.init), message: message)
        case 500...599: return .server(status: status, code: parsed?.error.code, message: message)
        default: return parsed.map { .server(status: status, code: $0.error.code, message: $0.error.message) } ?? .unexpectedStatus(status)
        }
    }
}

/// Filters of GET /v1/alerts.
public struct AlertFilter: Sendable, Equatable {
    public var state: AlertState?
    public var severity: Severity?
    public var team: String?
    public var service: String?
    public var acknowledged: Bool?
    public var silenced: Bool?
    public var limit: Int?

    public init(state: AlertState? = nil, severity: Severity? = nil, team: String? = nil, service: String? = nil,
                acknowledged: Bool? = nil, silenced: Bool? = nil, limit: Int? = nil) {
        self.state = state
        self.severity = severity
        self.team = team
        self.service = service
        self.acknowledged = acknowledged
        self.silenced = silenced
        self.limit = limit
    }

    var queryItems: [URLQueryItem] {
        var q: [URLQueryItem] = []
        if let state { q.append(URLQueryItem(name: "state", value: state.rawValue)) }
        if let severity { q.append(URLQueryItem(name: "severity", value: severity.rawValue)) }
        if let team { q.append(URLQueryItem(name: "team", value: team)) }
        if let service { q.append(URLQueryItem(name: "service", value: service)) }
        if let acknowledged { q.append(URLQueryItem(name: "acknowledged", value: String(acknowledged))) }
        if let silenced { q.append(URLQueryItem(name: "silenced", value: String(silenced))) }
        if let limit { q.append(URLQueryItem(name: "limit", value: String(limit))) }
        return q
    }
}

/// async/await client of the watch API.
public final class APIClient: @unchecked Sendable {
    // Immutable after init; URLSession is thread-safe.
    public let configuration: APIConfiguration
    private let session: URLSession

    public init(configuration: APIConfiguration, session: URLSession? = nil) {
        self.configuration = configuration
        if let session {
            self.session = session
        } else {
            let cfg = URLSessionConfiguration.ephemeral
            cfg.timeoutIntervalForRequest = configuration.timeout
            self.session = URLSession(configuration: cfg)
        }
    }

    // MARK: meta

    public func health() async throws -> Health {
        try await send("GET", path: ["health"])
    }

    // MARK: devices

    /// Registers the device; re-registering an existing token updates it.
    @discardableResult
    public func registerDevice(_ request: RegisterDeviceRequest) async throws -> Device {
        try await send("POST", path: ["v1", "devices"], body: request)
    }

    public func devices(team: String? = nil) async throws -> [Device] {
        let q = team.map { [URLQueryItem(name: "team", value: $0)] } ?? []
        let list: DeviceList = try await send("GET", path: ["v1", "devices"], query: q)
        return list.devices
    }

    public func unregisterDevice(token: String) async throws {
        _ = try await sendRaw("DELETE", path: ["v1", "devices", token], body: nil, query: [])
    }

    // MARK: status and alerts

    public func statusBoard() async throws -> StatusBoard {
        try await send("GET", path: ["v1", "status"])
    }

    public func alerts(_ filter: AlertFilter = AlertFilter()) async throws -> [Alert] {
        let list: AlertList = try await send("GET", path: ["v1", "alerts"], query: filter.queryItems)
        return list.alerts
    }

    public func alert(id: String) async throws -> Alert {
        try await send("GET", path: ["v1", "alerts", id])
    }

    private struct AckBody: Encodable {
        let by: String
        let comment: String?
    }

    @discardableResult
    public func acknowledge(alertID: String, by: String, comment: String? = nil) async throws -> Alert {
        try await send("POST", path: ["v1", "alerts", alertID, "ack"], body: AckBody(by: by, comment: comment))
    }

    @discardableResult
    public func unacknowledge(alertID: String) async throws -> Alert {
        try await send("DELETE", path: ["v1", "alerts", alertID, "ack"])
    }

    private struct SilenceAlertBody: Encodable {
        let duration_seconds: Int
        let created_by: String
        let comment: String?
    }

    /// The watch's "Silence 1h" action.
    @discardableResult
    public func silence(alertID: String, for duration: TimeInterval = 3600, by: String, comment: String? = nil) async throws -> Silence {
        try await send("POST", path: ["v1", "alerts", alertID, "silence"],
                       body: SilenceAlertBody(duration_seconds: Int(duration), created_by: by, comment: comment))
    }

    // MARK: silences

    public func silences(state: SilenceState? = nil) async throws -> [Silence] {
        let q = state.map { [URLQueryItem(name: "state", value: $0.rawValue)] } ?? []
        let list: SilenceList = try await send("GET", path: ["v1", "silences"], query: q)
        return list.silences
    }

    @discardableResult
    public func createSilence(_ request: CreateSilenceRequest) async throws -> Silence {
        try await send("POST", path: ["v1", "silences"], body: request)
    }

    @discardableResult
    public func expireSilence(id: String) async throws -> Silence {
        try await send("DELETE", path: ["v1", "silences", id])
    }

    // MARK: transport

    private struct Empty: Encodable {}

    private func send<T: Decodable>(_ method: String, path: [String], query: [URLQueryItem] = []) async throws -> T {
        try await send(method, path: path, body: Empty?.none, query: query)
    }

    private func send<T: Decodable, B: Encodable>(_ method: String, path: [String], body: B?, query: [URLQueryItem] = []) async throws -> T {
        var data: Data?
        if let body {
            do {
                data = try WatchJSON.encoder().encode(body)
            } catch {
                throw APIError.decoding("encoding the request: \(error)")
            }
        }
        let raw = try await sendRaw(method, path: path, body: data, query: query)
        do {
            return try WatchJSON.decoder().decode(T.self, from: raw)
        } catch {
            throw APIError.decoding("\(T.self): \(error)")
        }
    }

    /// Builds the URL from escaped path segments (ids and tokens never change the path).
    func url(path: [String], query: [URLQueryItem]) -> URL? {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove("/")
        let escaped = path.map { $0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0 }
        var base = configuration.baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        guard var comps = URLComponents(string: base + "/" + escaped.joined(separator: "/")) else { return nil }
        if !query.isEmpty { comps.queryItems = query }
        return comps.url
    }

    private func sendRaw(_ method: String, path: [String], body: Data?, query: [URLQueryItem]) async throws -> Data {
        guard let url = url(path: path, query: query) else {
            throw APIError.transport("cannot build a URL from \(configuration.baseURL) and \(path)")
        }
        var req = URLRequest(url: url, timeoutInterval: configuration.timeout)
        req.httpMethod = method
        req.setValue("application/json", forHTTPHeaderField: "Accept")
        if let token = configuration.token {
            req.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        }
        if let body {
            req.httpBody = body
            req.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await perform(req)
        guard let http = response as? HTTPURLResponse else {
            throw APIError.transport("not an HTTP response")
        }
        guard (200..<300).contains(http.statusCode) else {
            throw APIError.from(status: http.statusCode, body: data, retryAfter: http.value(forHTTPHeaderField: "Retry-After"))
        }
        return data
    }

    /// dataTask wrapped in a continuation: works with FoundationNetworking on Linux as well.
    private func perform(_ req: URLRequest) async throws -> (Data, URLResponse) {
        try await withCheckedThrowingContinuation { cont in
            let task = session.dataTask(with: req) { data, response, error in
                if let error {
                    cont.resume(throwing: APIError.transport(error.localizedDescription))
                } else if let response {
                    cont.resume(returning: (data ?? Data(), response))
                } else {
                    cont.resume(throwing: APIError.transport("no response"))
                }
            }
            task.resume()
        }
    }
}
