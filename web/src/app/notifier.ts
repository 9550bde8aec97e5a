// Short messages for the user (a control call's outcome, a reconnect), shown in a live region.

export type NoticeKind = "info" | "success" | "error";

export interface Notice {
  id: number;
  text: string;
  kind: NoticeKind;
}

export class Notifier {
  private notices: readonly Notice[] = [];
  private readonly listeners = new Set<() => void>();
  private nextId = 1;

  constructor(private readonly lifetimeMs = 6000) {}

  notify(text: string, kind: NoticeKind = "info"): number {
    const id = this.nextId++;
    this.notices = [...this.notices, { id, text, kind }].slice(-5);
    this.emit();
    if (this.lifetimeMs > 0)
      setTimeout(() => this.dismiss(id), kind === "error" ? this.lifetimeMs * 2 : this.lifetimeMs);
    return id;
  }

  dismiss(id: number): void {
    const next = this.notices.filter((n) => n.id !== id);
    if (next.length === this.notices.length) return;
    this.notices = next;
    this.emit();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): readonly Notice[] => this.notices;

  private emit(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
