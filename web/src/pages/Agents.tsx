import type { ColumnDef } from '@tanstack/react-table';
import { useEffect, useId, useMemo, useState } from 'react';
import { api, type Agent, type ApiToken, type NewApiToken, type Page, type Resource } from '../api';
import { formatDate } from '../format';
import { useI18n } from '../i18n';
import { DataTable } from '../ui/DataTable';
import { Confirm, Modal } from '../ui/Modal';
import { Empty, LoadError, Status } from '../ui/States';
import { useFetch } from '../ui/useFetch';
import { NameAndId, PageHead, usePageTitle } from './common';

const POLL_MS = 3_000;
/** The resources a dialog offers to host: enough for any tenant that adds agents by hand. */
const RESOURCE_LIMIT = 100;

/** 代理: each agent, online or not, what it hosts, and the token it came with (revocable here). */
export function AgentsPage() {
  const { t, lang } = useI18n();
  usePageTitle(t('agents.title'));
  const agents = useFetch(() => api.get<Page<Agent>>('/agents'), 'agents', { pollMs: POLL_MS });
  const resources = useFetch(() => api.get<Page<Resource>>('/resources', { limit: RESOURCE_LIMIT }), 'resources');
  const tokens = useFetch(() => api.get<Page<ApiToken>>('/tokens', { scope: 'agent', limit: 100 }), 'tokens');
  const [adding, setAdding] = useState(false);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const tokenById = useMemo(() => new Map((tokens.data?.items ?? []).map((k) => [k.id, k])), [tokens.data]);
  const resourceById = useMemo(() => new Map((resources.data?.items ?? []).map((r) => [r.id, r])), [resources.data]);
  const agentsOf = (tokenId: string) => (agents.data?.items ?? []).filter((a) => a.token_id === tokenId);

  const columns = useMemo<ColumnDef<Agent>[]>(
    () => [
      { id: 'name', header: t('common.name'), cell: ({ row }) => <NameAndId name={row.original.name} id={row.original.id} /> },
      { id: 'status', header: t('common.status'), cell: ({ row }) => <Status status={row.original.online ? 'online' : 'offline'} /> },
      { id: 'seen', header: t('agents.colLastSeen'), cell: ({ row }) => formatDate(row.original.last_seen_at, lang) },
      { id: 'version', header: t('agents.colVersion'), cell: ({ row }) => row.original.version ?? '—' },
      {
        id: 'resources',
        header: t('agents.colResources'),
        cell: ({ row }) =>
          row.original.resources.length ? (
            <ul className="plain-list">
              {row.original.resources.map((id) => (
                <li key={id}>
                  <NameAndId name={resourceById.get(id)?.name} id={id} />
                </li>
              ))}
            </ul>
          ) : (
            '—'
          ),
      },
      {
        id: 'token',
        header: t('agents.colToken'),
        cell: ({ row: { original: a } }) => {
          const k = a.token_id ? tokenById.get(a.token_id) : undefined;
          if (!k) return <span className="hint">{t('agents.unknownToken')}</span>;
          return (
            <span className="stack">
              <span>{k.name}</span>
              {k.revoked_at ? (
                <Status status="revoked" />
              ) : (
                <button type="button" className="link-btn link-danger" onClick={() => setRevoking(k)} aria-label={`${t('agents.revoke')} ${k.name}`}>
                  {t('agents.revoke')}
                </button>
              )}
            </span>
          );
        },
      },
    ],
    [t, lang, tokenById, resourceById],
  );

  const tokenColumns = useMemo<ColumnDef<ApiToken>[]>(
    () => [
      { id: 'name', header: t('common.name'), cell: ({ row }) => <NameAndId name={row.original.name} id={row.original.id} /> },
      { id: 'status', header: t('common.status'), cell: ({ row }) => <Status status={row.original.revoked_at ? 'revoked' : 'active'} /> },
      { id: 'used-by', header: t('agents.usedBy'), cell: ({ row }) => agentsOf(row.original.id).map((a) => a.name).join(', ') || '—' },
      { id: 'used', header: t('tokens.lastUsed'), cell: ({ row }) => (row.original.last_used_at ? formatDate(row.original.last_used_at, lang) : t('common.never')) },
      { id: 'created', header: t('common.createdAt'), cell: ({ row }) => formatDate(row.original.created_at, lang) },
      {
        id: 'actions',
        header: t('common.actions'),
        cell: ({ row: { original: k } }) =>
          k.revoked_at ? null : (
            <button type="button" className="link-btn link-danger" onClick={() => setRevoking(k)} aria-label={`${t('agents.revoke')} ${k.name}`}>
              {t('agents.revoke')}
            </button>
          ),
      },
    ],
    [t, lang, agents.data],
  );

  return (
    <section>
      <PageHead title={t('agents.title')} intro={t('agents.intro')}>
        <button type="button" className="btn btn-primary" onClick={() => setAdding(true)}>
          {t('agents.add')}
        </button>
      </PageHead>
      {agents.error ? <LoadError error={agents.error} retry={agents.reload} /> : null}
      <DataTable
        caption={t('agents.title')}
        columns={columns}
        data={agents.data?.items ?? []}
        rowId={(a) => a.id}
        loading={agents.loading && !agents.data}
        empty={
          <Empty title={t('agents.emptyTitle')}>
            <p>{t('agents.emptyBody')}</p>
          </Empty>
        }
      />
      <h2 className="section-title">{t('agents.tokensTitle')}</h2>
      <p className="intro">{t('agents.tokensIntro')}</p>
      {tokens.error ? <LoadError error={tokens.error} retry={tokens.reload} /> : null}
      <DataTable
        caption={t('agents.tokensTitle')}
        columns={tokenColumns}
        data={tokens.data?.items ?? []}
        rowId={(k) => k.id}
        loading={tokens.loading && !tokens.data}
        empty={<Empty title={t('agents.tokensEmpty')} />}
      />
      <AddAgentDialog open={adding} onClose={() => setAdding(false)} resources={resources.data?.items ?? []} onMade={tokens.reload} />
      {revoking ? (
        <Confirm
          open
          danger
          onClose={() => setRevoking(null)}
          title={t('agents.revokeTitle')}
          confirmLabel={t('agents.revoke')}
          body={t('agents.revokeBody', { name: revoking.name, id: revoking.id, agents: agentsOf(revoking.id).map((a) => a.name).join(', ') || '—' })}
          onConfirm={async () => {
            await api.del(`/tokens/${revoking.id}`);
            tokens.reload();
            agents.reload();
          }}
        />
      ) : null}
    </section>
  );
}

/** A word as the shell reads it: quoted unless it is plainly safe. */
function shellWord(v: string): string {
  return /^[A-Za-z0-9_/.:=,@%+-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

/** `vol-x:PATH`, or `i-x:root=PATH,data=PATH`: the agent's --map (src/cli/agent.ts parseMaps). */
function mapOf(r: Resource, paths: Record<string, string>): string {
  if (r.disks.length === 1) return `${r.id}:${paths[r.disks[0]!.name] ?? ''}`;
  return `${r.id}:${r.disks.map((d) => `${d.name}=${paths[d.name] ?? ''}`).join(',')}`;
}

/** The command that starts `cairn agent` on the machine, with its token in the environment (not in `ps`'s argument list). */
export function agentCommand(server: string, token: string, name: string, maps: string[]): string {
  return [`CAIRN_TOKEN=${shellWord(token)}`, 'cairn', 'agent', '--server', shellWord(server), '--name', shellWord(name), ...maps.flatMap((m) => ['--map', shellWord(m)])].join(' ');
}

const defaultPath = (r: Resource, i: number) => (r.kind === 'instance' ? `/dev/vd${String.fromCharCode(97 + i)}` : '/dev/vdb');

class KeepOpen extends Error {}

/**
 * 添加代理: the resources it hosts and where their disks are on that machine, then a
 * token scoped to agent work, made on the spot, inside the exact command to run.
 */
export function AddAgentDialog({ open, onClose, resources, preselect, onMade }: { open: boolean; onClose(): void; resources: Resource[]; preselect?: string; onMade?(command: string): void }) {
  const { t } = useI18n();
  const base = useId();
  const [name, setName] = useState('');
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [paths, setPaths] = useState<Record<string, Record<string, string>>>({});
  const [command, setCommand] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!open) return;
    setName('');
    setCommand(null);
    setCopied(false);
    setPicked(new Set(preselect ? [preselect] : resources.length === 1 ? [resources[0]!.id] : []));
    setPaths(Object.fromEntries(resources.map((r) => [r.id, Object.fromEntries(r.disks.map((d, i) => [d.name, defaultPath(r, i)]))])));
    // The resources are read when the dialog opens; a list that refreshes behind it must not wipe what was typed.
  }, [open, preselect]);

  if (command)
    return (
      <Modal open={open} onClose={onClose} title={t('agents.add')} description={t('agents.commandNote')} wide>
        <div className="field">
          <label htmlFor={`${base}-cmd`}>{t('agents.command')}</label>
          <textarea id={`${base}-cmd`} className="command" readOnly rows={4} value={command} onFocus={(e) => e.target.select()} />
        </div>
        <button
          type="button"
          className="btn btn-small"
          onClick={() => {
            void navigator.clipboard?.writeText(command).then(() => setCopied(true));
          }}
        >
          {copied ? t('agents.copied') : t('agents.copy')}
        </button>
      </Modal>
    );

  const chosen = resources.filter((r) => picked.has(r.id));
  return (
    <Modal
      open={open}
      onClose={onClose}
      title={t('agents.add')}
      wide
      submitLabel={t('agents.make')}
      submitDisabled={!name.trim() || chosen.length === 0}
      onSubmit={async () => {
        const agentName = name.trim();
        const { token } = await api.post<{ token: NewApiToken }>('/tokens', { name: `agent ${agentName}`, scope: 'agent' });
        const made = agentCommand(window.location.origin, token.token, agentName, chosen.map((r) => mapOf(r, paths[r.id] ?? {})));
        setCommand(made);
        onMade?.(made);
        // Stays open to show the command: the throw-free path of Modal would close it.
        throw new KeepOpen();
      }}
      onError={(e) => e instanceof KeepOpen}
    >
      {resources.length === 0 ? <p className="notice">{t('agents.noResources')}</p> : null}
      <div className="field">
        <label htmlFor={`${base}-name`}>{t('agents.name')}</label>
        <input id={`${base}-name`} type="text" value={name} maxLength={128} onChange={(e) => setName(e.target.value)} />
      </div>
      {resources.length ? (
        <fieldset className="field">
          <legend>{t('agents.pick')}</legend>
          <p className="hint">{t('agents.pathHint')}</p>
          {resources.map((r) => (
            <div key={r.id} className="agent-pick">
              <label className="radio">
                <input
                  type="checkbox"
                  checked={picked.has(r.id)}
                  onChange={(e) =>
                    setPicked((s) => {
                      const next = new Set(s);
                      if (e.target.checked) next.add(r.id);
                      else next.delete(r.id);
                      return next;
                    })
                  }
                />
                <span>
                  {r.name} <code>{r.id}</code>
                </span>
              </label>
              {picked.has(r.id)
                ? r.disks.map((d) => (
                    <div className="field field-inline" key={d.name}>
                      <label htmlFor={`${base}-${r.id}-${d.name}`}>{t('agents.pathOf', { disk: d.name, id: r.id })}</label>
                      <input
                        id={`${base}-${r.id}-${d.name}`}
                        type="text"
                        value={paths[r.id]?.[d.name] ?? ''}
                        onChange={(e) => setPaths((p) => ({ ...p, [r.id]: { ...p[r.id], [d.name]: e.target.value } }))}
                      />
                    </div>
                  ))
                : null}
            </div>
          ))}
        </fieldset>
      ) : null}
    </Modal>
  );
}
