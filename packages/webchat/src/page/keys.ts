// Enter sends, Shift+Enter is a newline, and Enter that confirms an IME composition (Chinese
// pinyin input) must not send. Browsers flag that keydown with isComposing, or (Safari, older
// Chrome) only with the legacy keyCode 229.

export interface EnterKeyEvent {
  key: string;
  shiftKey: boolean;
  isComposing: boolean;
  keyCode: number;
  altKey?: boolean;
  ctrlKey?: boolean;
  metaKey?: boolean;
}

export function isSendKey(e: EnterKeyEvent, composing: boolean): boolean {
  if (e.key !== "Enter" || e.shiftKey || e.altKey) return false;
  if (composing || e.isComposing || e.keyCode === 229) return false;
  return true;
}
