// Chart colours per theme. Each series colour has at least 3:1 contrast against its theme's
// surface (WCAG 1.4.11 for graphics); text colours meet 4.5:1.

import type { Theme } from "../theme";

export interface ChartPalette {
  series: string[];
  text: string;
  muted: string;
  grid: string;
  tooltipBg: string;
}

export const PALETTES: Record<Theme, ChartPalette> = {
  light: {
    series: ["#1d4ed8", "#b45309", "#047857", "#b91c1c", "#6d28d9", "#be185d", "#0e7490", "#4d7c0f", "#c2410c", "#7e22ce", "#374151", "#0f766e", "#a16207", "#1e40af"],
    text: "#1f2328",
    muted: "#57606a",
    grid: "#d0d7de",
    tooltipBg: "#ffffff",
  },
  dark: {
    series: ["#60a5fa", "#fbbf24", "#34d399", "#f87171", "#a78bfa", "#f472b6", "#22d3ee", "#a3e635", "#fb923c", "#c084fc", "#cbd5e1", "#2dd4bf", "#facc15", "#93c5fd"],
    text: "#e6edf3",
    muted: "#9da7b3",
    grid: "#30363d",
    tooltipBg: "#161b22",
  },
};
