import Foundation

/// JSON coders configured for the watch API: RFC 3339 times as Go writes them
/// (UTC "Z" or an offset, with 0…9 fractional digits).
public enum WatchJSON {
    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let s = try c.decode(String.self)
            guard let date = RFC3339.parse(s) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an RFC 3339 time: \(s)")
            }
            return date
        }
        return d
    }

    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(RFC3339.format(date))
        }
        e.outputFormatting = [.sortedKeys]
        return e
    }
}

/// RFC 3339 parsing and formatting without relying on ISO8601DateFormatter's
/// fractional-second support, which differs between platforms.
public enum RFC3339 {
    public static func parse(_ s: String) -> Date? {
        // Split "2026-11-25T12:00:00.123456789Z" into base, fraction, zone.
        let chars = Array(s.utf8)
        guard chars.count >= 20, chars[10] == UInt8(ascii: "T") || chars[10] == UInt8(ascii: "t") else { return nil }
        func num(_ from: Int, _ len: Int) -> Int? {
            var v = 0
            for i in from..<(from + len) {
                let c = chars[i]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard let year = num(0, 4), chars[4] == UInt8(ascii: "-"), let month = num(5, 2), chars[7] == UInt8(ascii: "-"),
              let day = num(8, 2), let hour = num(11, 2), chars[13] == UInt8(ascii: ":"), let minute = num(14, 2),
              chars[16] == UInt8(ascii: ":"), let second = num(17, 2) else { return nil }
        var i = 19
        var fraction = 0.0
        if i < chars.count, chars[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < chars.count, chars[i] >= 48, chars[i] <= 57 {
                fraction += Double(chars[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < chars.count else { return nil }
        var offset = 0
        switch chars[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard i + 1 == chars.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard i + 6 == chars.count, let oh = num(i + 1, 2), chars[i + 3] == UInt8(ascii: ":"), let om = num(i + 4, 2) else { return nil }
            offset = (oh * 3600 + om * 60) * (chars[i] == UInt8(ascii: "-") ? -1 : 1)
        default:
            return nil
        }
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        var comps = DateComponents()
        comps.year = year
        comps.month = month
        comps.day = day
        comps.hour = hour
        comps.minute = minute
        comps.second = second
        guard let base = cal.date(from: comps) else { return nil }
        return base.addingTimeInterval(fraction - Double(offset))
    }

    /// Formats in UTC with millisecond precision when there is a fraction.
    public static func format(_ date: Date) -> String {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        let totalMillis = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var seconds = totalMillis / 1000
        var millis = Int(totalMillis % 1000)
        if millis < 0 {
            seconds -= 1
            millis += 1000
        }
        let c = cal.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: TimeInterval(seconds)))
        let base = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
        return millis == 0 ? base + "Z" : base + String(format: ".%03dZ", millis)
    }
}
