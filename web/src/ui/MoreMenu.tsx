import { useEffect, useId, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useI18n } from '../i18n';

export interface MenuItem {
  label: string;
  onSelect(): void;
  disabled?: boolean;
  /** Why it is disabled, shown as a tooltip and read with the item. */
  hint?: string;
  danger?: boolean;
}

/**
 * 更多操作: a row's less frequent actions behind one button, as QingCloud's lists do.
 * A menu button in the WAI-ARIA pattern: Enter, Space or ArrowDown opens it on its
 * first item; arrows, Home and End move; Escape closes it and returns to the button;
 * Tab closes it. The list is placed with `position: fixed` so a scrolling table does not clip it.
 */
export function MoreMenu({ items, label }: { items: MenuItem[]; label?: string }) {
  const { t } = useI18n();
  const id = useId();
  const [open, setOpen] = useState(false);
  const [pos, setPos] = useState<{ top: number; left: number } | null>(null);
  const button = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLUListElement>(null);
  const focusAt = useRef(0);

  const itemEls = () => Array.from(list.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? []);
  const focus = (i: number) => {
    const els = itemEls();
    if (!els.length) return;
    focusAt.current = (i + els.length) % els.length;
    els[focusAt.current]!.focus({ preventScroll: true });
  };
  const openAt = (i: number) => {
    focusAt.current = i;
    setOpen(true);
  };
  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) button.current?.focus();
  };

  /** Under the button (or above it near the bottom of the window), kept inside the window. */
  const place = () => {
    if (!button.current) return;
    const r = button.current.getBoundingClientRect();
    const width = list.current?.offsetWidth ?? 180;
    const height = list.current?.offsetHeight ?? 160;
    const left = Math.max(8, Math.min(r.right - width, window.innerWidth - width - 8));
    const below = r.bottom + 4 + height <= window.innerHeight;
    setPos({ top: below ? r.bottom + 4 : Math.max(8, r.top - 4 - height), left });
  };

  // Placed (measured off-screen first, where it can already take focus) and focused on its item as it opens.
  useLayoutEffect(() => {
    if (!open) {
      setPos(null);
      return;
    }
    place();
    focus(focusAt.current < 0 ? itemEls().length - 1 : focusAt.current);
  }, [open]);

  useEffect(() => {
    if (!open) return;
    const outside = (e: MouseEvent) => {
      const n = e.target as Node;
      if (!list.current?.contains(n) && !button.current?.contains(n)) close(false);
    };
    // A table that scrolls sideways (narrow screens) moves the button: the menu follows it.
    window.addEventListener('resize', place);
    window.addEventListener('scroll', place, true);
    document.addEventListener('mousedown', outside);
    return () => {
      document.removeEventListener('mousedown', outside);
      window.removeEventListener('resize', place);
      window.removeEventListener('scroll', place, true);
    };
  }, [open]);

  const onButtonKey = (e: KeyboardEvent) => {
    if (e.key === 'ArrowDown' || e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      openAt(0);
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      openAt(-1);
    }
  };
  const onListKey = (e: KeyboardEvent) => {
    const n = itemEls().length;
    if (e.key === 'ArrowDown') focus(focusAt.current + 1);
    else if (e.key === 'ArrowUp') focus(focusAt.current - 1);
    else if (e.key === 'Home') focus(0);
    else if (e.key === 'End') focus(n - 1);
    else if (e.key === 'Escape') close(true);
    else if (e.key === 'Tab') {
      close(false);
      return;
    } else return;
    e.preventDefault();
    e.stopPropagation();
  };
  const choose = (item: MenuItem) => {
    if (item.disabled) return;
    close(true);
    item.onSelect();
  };

  return (
    <span className="menu-wrap">
      <button
        ref={button}
        type="button"
        className="link-btn"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? id : undefined}
        aria-label={label}
        onClick={() => (open ? close(false) : openAt(0))}
        onKeyDown={onButtonKey}
      >
        {t('common.more')} <span aria-hidden="true">▾</span>
      </button>
      {open ? (
        <ul ref={list} id={id} role="menu" className="menu" aria-label={label ?? t('common.more')} style={pos ? { top: pos.top, left: pos.left } : { top: -9999, left: -9999 }} onKeyDown={onListKey}>
          {items.map((item) => (
            <li key={item.label} role="none">
              <button
                type="button"
                role="menuitem"
                tabIndex={-1}
                className={item.danger ? 'menu-danger' : undefined}
                aria-disabled={item.disabled || undefined}
                title={item.disabled ? item.hint : undefined}
                onClick={() => choose(item)}
              >
                {item.label}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </span>
  );
}
