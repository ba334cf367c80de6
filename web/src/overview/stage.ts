// The big screen's canvas: laid out at 1920×1080 and scaled as one piece to the display, so the
// hall's 1920×1080 and 3840×2160 walls show the same picture.
export const STAGE_WIDTH = 1920;
export const STAGE_HEIGHT = 1080;

/** Scale and centre the stage in the window; return the scale. */
export function fitStage(stage: HTMLElement): number {
  const scale = Math.min(window.innerWidth / STAGE_WIDTH, window.innerHeight / STAGE_HEIGHT);
  const left = (window.innerWidth - STAGE_WIDTH * scale) / 2;
  const top = (window.innerHeight - STAGE_HEIGHT * scale) / 2;
  stage.style.transform = `translate(${left}px, ${top}px) scale(${scale})`;
  stage.dataset["scale"] = String(scale);
  return scale;
}

const clockFormat = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});

/** Show Shanghai time in an element every second; return the function that stops it. */
export function startClock(element: HTMLElement): () => void {
  const tick = (): void => {
    element.textContent = clockFormat.format(new Date());
  };
  tick();
  const timer = window.setInterval(tick, 1000);
  return () => window.clearInterval(timer);
}
