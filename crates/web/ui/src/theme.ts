// Light and dark: follows `prefers-color-scheme` unless the viewer picked one (kept in
// localStorage). The resolved theme is `data-theme` on <html>; CSS and charts read it.

import { useEffect, useState } from "preact/hooks";

export type ThemeChoice = "system" | "light" | "dark";
export type Theme = "light" | "dark";

const KEY = "steward.theme";
const media = () => window.matchMedia("(prefers-color-scheme: dark)");

export function storedChoice(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    return v === "light" || v === "dark" ? v : "system";
  } catch {
    return "system"; // storage disabled: follow the system
  }
}

function resolve(choice: ThemeChoice): Theme {
  if (choice !== "system") return choice;
  return media().matches ? "dark" : "light";
}

function apply(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
  document.documentElement.style.colorScheme = theme;
}

/** The current theme and a setter for the viewer's choice. */
export function useTheme(): { theme: Theme; choice: ThemeChoice; setChoice: (c: ThemeChoice) => void } {
  const [choice, setChoiceState] = useState<ThemeChoice>(storedChoice);
  const [theme, setTheme] = useState<Theme>(() => resolve(choice));
  useEffect(() => {
    const update = () => setTheme(resolve(choice));
    update();
    const m = media();
    m.addEventListener("change", update);
    return () => m.removeEventListener("change", update);
  }, [choice]);
  useEffect(() => apply(theme), [theme]);
  const setChoice = (c: ThemeChoice) => {
    try {
      if (c === "system") localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, c);
    } catch {
      /* not persisted; still applied */
    }
    setChoiceState(c);
  };
  return { theme, choice, setChoice };
}
