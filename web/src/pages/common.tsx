import { useEffect, type ReactNode } from 'react';
import type { Account, CairnEvent, Person, Point } from '../api';
import { isKey, type I18n, type Lang } from '../i18n';

export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Cairn`;
  }, [title]);
}

export function PageHead({ title, intro, children }: { title: ReactNode; intro?: ReactNode; children?: ReactNode }) {
  return (
    <div className="page-head">
      <div>
        <h1>{title}</h1>
        {intro ? <p className="intro">{intro}</p> : null}
      </div>
      {children ? <div className="page-head-actions">{children}</div> : null}
    </div>
  );
}

/** A name above its ID, as QingCloud's lists show "ID / 名称". */
export function NameAndId({ name, id }: { name: string | null | undefined; id: string }) {
  return (
    <span className="name-id">
      <span className="name">{name || '—'}</span>
      <code className="id">{id}</code>
    </span>
  );
}

export function who(p: Person | null, me: Account, t: I18n['t']): string {
  if (!p) return '—';
  if (p.id === me.id) return t('event.you');
  return p.email ?? p.id;
}

export function describeEvent(e: CairnEvent, me: Account, t: I18n['t'], lang: Lang): string {
  const chainName = typeof e.data.chain_name === 'string' && e.data.chain_name ? `${e.data.chain_name} (${e.chain_id ?? ''})` : (e.chain_id ?? '—');
  const image = typeof e.data.image_id === 'string' ? `${typeof e.data.image_name === 'string' ? `${e.data.image_name} ` : ''}(${e.data.image_id})` : '';
  const vars = { actor: who(e.actor, me, t), recipient: who(e.recipient, me, t), owner: who(e.owner, me, t), chain: chainName, image, type: e.type };
  const key = `event.${e.type}`;
  if (lang !== 'zh-CN') return isKey(key) ? t(key, vars) : t('event.other', vars);
  const spaced = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, besideHan(v)]));
  return (isKey(key) ? t(key, spaced) : t('event.other', spaced))
    .replace(/ {2,}/g, ' ')
    .replace(/ ([，。：；、）])/g, '$1')
    .trim();
}

const HAN = /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/;

/** In Chinese text, Latin words (an email, an ID) stand apart by a space; Chinese words such as 您 join without one. */
function besideHan(v: string): string {
  if (!v) return v;
  return `${HAN.test(v[0]!) ? '' : ' '}${v}${HAN.test(v[v.length - 1]!) ? '' : ' '}`;
}

/** Points as a forest by parent link; orphans (parent purged) become roots. */
export function pointTree(points: Point[]): (Point & { children: Point[] })[] {
  const nodes = new Map(points.map((p) => [p.id, { ...p, children: [] as Point[] }]));
  const roots: (Point & { children: Point[] })[] = [];
  for (const p of points) {
    const node = nodes.get(p.id)!;
    const parent = p.parent_id ? nodes.get(p.parent_id) : undefined;
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  return roots;
}
