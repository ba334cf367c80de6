// The live feed of an overview: one EventSource on the area's stream. The browser reconnects by
// itself after a network drop; when the stream is refused (session over) the page goes to the
// login form, otherwise one timer retries a new connection.
export type LiveState = "connecting" | "live" | "retrying";

const TEXTS: Record<LiveState, string> = {
  connecting: "正在连接实时数据…",
  live: "实时数据已连接",
  retrying: "实时连接中断，正在重连…",
};
const RETRY_MS = 5000;

export class LiveFeed {
  private source: EventSource | null = null;
  private retry: number | undefined;

  constructor(
    private readonly url: string,
    private readonly onChange: (parts: string[]) => void,
    private readonly status: HTMLElement | null,
    // A link view (town page by token) has no session: it reloads to show why the link ended.
    private readonly onEnd: () => void = toLogin,
    private readonly probe: string | null = "/api/v1/auth/me",
  ) {}

  /** Open the stream. */
  start(): void {
    this.stop();
    const source = new EventSource(this.url, { withCredentials: true });
    this.source = source;
    this.show("connecting");
    source.addEventListener("open", () => this.show("live"));
    source.addEventListener("change", (event: MessageEvent<string>) => {
      this.show("live");
      const notice = JSON.parse(event.data) as { parts?: unknown };
      if (Array.isArray(notice.parts)) {
        this.onChange(notice.parts.filter((p): p is string => typeof p === "string"));
      }
    });
    source.addEventListener("end", () => {
      this.stop();
      this.onEnd();
    });
    source.addEventListener("error", () => {
      this.show("retrying");
      if (source.readyState === EventSource.CLOSED) {
        void this.recover();
      }
    });
  }

  /** Close the stream and forget any pending retry. */
  stop(): void {
    if (this.retry !== undefined) {
      window.clearTimeout(this.retry);
      this.retry = undefined;
    }
    this.source?.close();
    this.source = null;
  }

  private async recover(): Promise<void> {
    this.stop();
    try {
      const reply = await fetch(this.probe ?? this.url, { credentials: "same-origin" });
      if (reply.status === 401 || reply.status === 403) {
        this.onEnd();
        return;
      }
      await reply.body?.cancel();
    } catch {
      // the server is away: try again later
    }
    this.show("retrying");
    this.retry = window.setTimeout(() => this.start(), RETRY_MS);
  }

  private show(state: LiveState): void {
    if (this.status !== null) {
      this.status.dataset["state"] = state;
      this.status.textContent = TEXTS[state];
    }
  }
}

/** Go to the login form, coming back here afterwards. */
export function toLogin(): void {
  window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
}
