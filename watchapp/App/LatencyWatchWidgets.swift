// @main of the watchOS widget extension target (complication); see README.md.
#if os(watchOS)
import LatencyWatchApp
import SwiftUI
import WidgetKit

@main
struct LatencyWatchWidgets: WidgetBundle {
    var body: some Widget { WorstStatusWidget() }
}
#endif
