// swift-tools-version:5.9
// LatencyWatch for Apple Watch.
//
// LatencyWatchCore is Foundation-only (FoundationNetworking on Linux) and is
// tested on Linux by scripts/swift-chroot.sh. LatencyWatchApp is the watchOS
// SwiftUI layer; all of its code is behind `#if os(watchOS)`, so on Linux it
// builds as an empty module. App/LatencyWatchWatchApp.swift is the @main entry
// point an Xcode watchOS app target compiles (see README.md).
import PackageDescription

let package = Package(
    name: "LatencyWatch",
    platforms: [.watchOS(.v10), .iOS(.v17), .macOS(.v13)],
    products: [
        .library(name: "LatencyWatchCore", targets: ["LatencyWatchCore"]),
        .library(name: "LatencyWatchApp", targets: ["LatencyWatchApp"]),
    ],
    targets: [
        .target(name: "LatencyWatchCore"),
        .target(name: "LatencyWatchApp", dependencies: ["LatencyWatchCore"]),
        .testTarget(name: "LatencyWatchCoreTests", dependencies: ["LatencyWatchCore"]),
    ]
)
