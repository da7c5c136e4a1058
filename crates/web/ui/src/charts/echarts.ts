// ECharts, tree-shaken: only the chart types, components and renderer the dashboard uses.
// `AriaComponent` gives every chart a generated text description for screen readers.

import { init, use } from "echarts/core";
import { BarChart, LineChart } from "echarts/charts";
import {
  AriaComponent,
  GridComponent,
  LegendComponent,
  TooltipComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

use([BarChart, LineChart, AriaComponent, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export { init };
export type { ECharts, EChartsCoreOption } from "echarts/core";
