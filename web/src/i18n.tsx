import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';

// A typed dictionary rather than i18next: two languages, a few hundred strings,
// and each entry carries both, so the compiler refuses a string missing in one
// language and a key used but not defined. Dates, numbers and plurals come from Intl.

export type Lang = 'zh-CN' | 'en';
type Text = string | { one: string; other: string };
interface Entry {
  en: Text;
  zh: string;
}

const M = {
  'app.name': { en: 'Cairn', zh: 'Cairn' },
  'app.tagline': { en: 'Disk backups, shared between accounts', zh: '硬盘备份，可在账户之间共享' },
  'app.skip': { en: 'Skip to content', zh: '跳到正文' },

  // header and menu
  'header.language': { en: 'Language / 语言', zh: '语言 / Language' },
  'header.menu': { en: 'Menu', zh: '菜单' },
  'header.account': { en: 'Account {email}', zh: '账户 {email}' },
  'header.accountLabel': { en: 'Account', zh: '账户' },
  'header.accountId': { en: 'Account ID', zh: '账户 ID' },
  'header.email': { en: 'Email', zh: '邮箱' },
  'header.subaccountOf': { en: 'Sub-account of {id}', zh: '{id} 的子账户' },
  'header.signOut': { en: 'Sign out', zh: '退出登录' },
  'header.notifications': { en: { one: '{count} unread notification', other: '{count} unread notifications' }, zh: '{count} 条未读通知' },
  'header.copyId': { en: 'Copy ID', zh: '复制 ID' },
  'header.copied': { en: 'Copied', zh: '已复制' },
  'nav.main': { en: 'Main menu', zh: '主菜单' },
  'nav.backup': { en: 'Backup', zh: '备份' },
  'nav.backups': { en: 'Backup data', zh: '备份数据' },
  'nav.shared': { en: 'Shared backups', zh: '共享备份' },
  'nav.recycle': { en: 'Recycle bin', zh: '回收站' },
  'nav.images': { en: 'Images', zh: '镜像' },
  // 作业, not 任务: 备份任务 (backup tasks) are the scheduled kind.
  'nav.jobs': { en: 'Jobs', zh: '作业' },
  'nav.tasks': { en: 'Backup tasks', zh: '备份任务' },
  'nav.policies': { en: 'Backup policies', zh: '备份策略' },
  'nav.activity': { en: 'Activity', zh: '操作记录' },
  'nav.accountSection': { en: 'Account', zh: '账户' },
  'nav.subaccounts': { en: 'Sub-accounts', zh: '子账户' },
  'nav.tokens': { en: 'API tokens', zh: 'API 密钥' },

  // common
  'common.ok': { en: 'OK', zh: '确定' },
  'common.cancel': { en: 'Cancel', zh: '取消' },
  'common.close': { en: 'Close', zh: '关闭' },
  'common.save': { en: 'Save', zh: '保存' },
  'common.refresh': { en: 'Refresh', zh: '刷新' },
  'common.search': { en: 'Search', zh: '搜索' },
  'common.actions': { en: 'Actions', zh: '操作' },
  'common.loading': { en: 'Loading…', zh: '加载中…' },
  'common.retry': { en: 'Try again', zh: '重试' },
  'common.loadFailed': { en: 'Could not load: {message}', zh: '加载失败：{message}' },
  'common.name': { en: 'Name', zh: '名称' },
  'common.description': { en: 'Description', zh: '描述' },
  'common.status': { en: 'Status', zh: '状态' },
  'common.createdAt': { en: 'Created', zh: '创建时间' },
  'common.id': { en: 'ID', zh: 'ID' },
  'common.delete': { en: 'Delete', zh: '删除' },
  'common.edit': { en: 'Edit', zh: '修改' },
  'common.none': { en: '—', zh: '—' },
  'common.never': { en: 'Never', zh: '从不' },
  'common.optional': { en: '(optional)', zh: '（可选）' },
  'common.required': { en: 'Required', zh: '必填' },
  'common.working': { en: 'Working…', zh: '处理中…' },
  'common.back': { en: 'Back', zh: '返回' },
  'common.yes': { en: 'Yes', zh: '是' },
  'common.no': { en: 'No', zh: '否' },

  // paging
  'pager.label': { en: 'Pages', zh: '分页' },
  'pager.total': { en: { one: '{count} item', other: '{count} items' }, zh: '共 {count} 条' },
  'pager.page': { en: 'Page {page} of {pages}', zh: '第 {page} / {pages} 页' },
  'pager.prev': { en: 'Previous page', zh: '上一页' },
  'pager.next': { en: 'Next page', zh: '下一页' },
  'pager.size': { en: 'Rows per page', zh: '每页条数' },

  // sign in
  'auth.signIn': { en: 'Sign in', zh: '登录' },
  'auth.register': { en: 'Register', zh: '注册' },
  'auth.email': { en: 'Email', zh: '邮箱' },
  'auth.password': { en: 'Password', zh: '密码' },
  'auth.passwordHint': { en: 'At least 8 characters.', zh: '至少 8 个字符。' },
  'auth.noAccount': { en: 'No account yet?', zh: '还没有账户？' },
  'auth.haveAccount': { en: 'Already registered?', zh: '已有账户？' },
  'auth.registered': { en: 'Account {email} created; sign in now.', zh: '账户 {email} 已创建，请登录。' },
  'auth.expired': { en: 'Your session ended; sign in again.', zh: '会话已结束，请重新登录。' },
  'auth.again': { en: 'You are signed in, but this tab has no key for making changes (it is kept per tab); sign in again.', zh: '您已登录，但此标签页没有用于修改操作的会话密钥（该密钥按标签页保存），请重新登录。' },
  'auth.signedOut': { en: 'You are signed out.', zh: '已退出登录。' },

  // statuses
  'status.available': { en: 'Available', zh: '可用' },
  'status.deleted': { en: 'Deleted', zh: '已删除' },
  'status.creating': { en: 'Creating', zh: '创建中' },
  'status.failed': { en: 'Failed', zh: '失败' },
  'status.pending': { en: 'Pending', zh: '等待中' },
  'status.working': { en: 'Working', zh: '执行中' },
  'status.successful': { en: 'Successful', zh: '成功' },
  'status.active': { en: 'Active', zh: '正常' },
  'status.disabled': { en: 'Disabled', zh: '已禁用' },
  'status.enabledTask': { en: 'Enabled', zh: '已启用' },
  'status.partial': { en: 'Partly failed', zh: '部分失败' },
  'status.running': { en: 'Running', zh: '执行中' },
  'status.revoked': { en: 'Revoked', zh: '已吊销' },

  // backup data
  'backups.title': { en: 'Backup data', zh: '备份数据' },
  'backups.intro': { en: 'Backup chains of your resources: each starts with a full backup point and continues with incremental ones.', zh: '您的资源的备份链：每条备份链以一个全量备份点开始，之后是增量备份点。' },
  'backups.searchPlaceholder': { en: 'Chain or resource name or ID', zh: '备份链或资源的名称或 ID' },
  'backups.colName': { en: 'ID / Chain name', zh: 'ID/备份链名称' },
  'backups.colResource': { en: 'Resource', zh: '资源' },
  'backups.colSize': { en: 'Total size', zh: '总大小' },
  'backups.colPoints': { en: 'Backup points', zh: '备份点' },
  'backups.colShare': { en: 'Sharing', zh: '共享状态' },
  'backups.notShared': { en: 'Not shared', zh: '未共享' },
  'backups.sharedWith': { en: { one: 'Shared with {count} account', other: 'Shared with {count} accounts' }, zh: '已共享给 {count} 个账户' },
  'backups.agentOnline': { en: 'Agent {name} online', zh: '代理 {name} 在线' },
  'backups.agentOffline': { en: 'Agent {name} offline', zh: '代理 {name} 离线' },
  'backups.noAgent': { en: 'No agent', zh: '无代理' },
  'backups.backupNow': { en: 'Backup now', zh: '立即备份' },
  'backups.backupNowOffline': { en: 'Backup now needs the resource\'s agent online: run cairn agent on the machine with the disk.', zh: '立即备份需要资源的代理在线：请在硬盘所在的机器上运行 cairn agent。' },
  'backups.share': { en: 'Share', zh: '共享' },
  'backups.cancelShare': { en: 'Cancel sharing', zh: '取消共享' },
  'backups.makeImage': { en: 'Make new image', zh: '制作新镜像' },
  'backups.rowActions': { en: 'Actions for {name}', zh: '{name} 的操作' },
  'backups.emptyTitle': { en: 'No backups yet', zh: '还没有备份' },
  'backups.emptyBody': { en: 'Backups are taken by the cairn command on the machine that has the disk. To take the first one:', zh: '备份由硬盘所在机器上的 cairn 命令完成。创建第一个备份：' },
  'backups.emptyStep1': { en: 'Sign the CLI in to this server:', zh: '让命令行登录到本服务器：' },
  'backups.emptyStep2': { en: 'Declare the disk as a volume:', zh: '将硬盘声明为一个硬盘资源：' },
  'backups.emptyStep3': { en: 'Take a full backup (the ID is printed by the previous command):', zh: '进行一次全量备份（ID 由上一条命令输出）：' },
  'backups.emptyStep4': { en: 'To back up from this console with "Backup now", keep an agent running there:', zh: '如需在控制台中使用“立即备份”，请在该机器上保持代理运行：' },
  'backups.noMatch': { en: 'No backup chain matches "{q}".', zh: '没有与“{q}”匹配的备份链。' },
  'backups.deleteTitle': { en: 'Delete backup chain', zh: '删除备份链' },
  'backups.deleteBody': { en: 'Backup chain {name} ({id}) and its {count} backup points go to the recycle bin, from where they can be restored for a while. Accounts it is shared with lose access to it; images already made from it are not affected.', zh: '备份链 {name}（{id}）及其 {count} 个备份点将移入回收站，可在一段时间内恢复。共享此备份链的账户将无法再访问它；已制作的镜像不受影响。' },
  'backups.deleted': { en: 'Backup chain {id} moved to the recycle bin (restorable until {time}).', zh: '备份链 {id} 已移入回收站（{time} 前可恢复）。' },
  'backups.recycleLink': { en: 'Recycle bin', zh: '回收站' },

  // backup now
  'backupNow.title': { en: 'Backup now', zh: '立即备份' },
  'backupNow.body': { en: 'Agent {agent} reads resource {resource} now and uploads what changed. The job appears under Jobs.', zh: '代理 {agent} 将立即读取资源 {resource} 并上传变化的数据。作业可在“作业”中查看。' },
  'backupNow.type': { en: 'Backup type', zh: '备份类型' },
  'backupNow.incremental': { en: 'Incremental (adds a point to the active chain)', zh: '增量备份（在当前备份链上新增备份点）' },
  'backupNow.full': { en: 'Full (starts a new chain)', zh: '全量备份（新建备份链）' },
  'backupNow.pointName': { en: 'Point name', zh: '备份点名称' },
  'backupNow.queued': { en: 'Backup job {id} queued for agent {agent}.', zh: '备份任务 {id} 已提交给代理 {agent}。' },

  // chain detail
  'chain.title': { en: 'Backup chain {name}', zh: '备份链 {name}' },
  'chain.attributes': { en: 'Attributes', zh: '基本属性' },
  'chain.editTitle': { en: 'Edit backup chain', zh: '修改备份链' },
  'chain.shares': { en: 'Shared with', zh: '共享列表' },
  'chain.sharesEmpty': { en: 'This chain is not shared. Use Share to give other accounts or sub-accounts read-only access.', zh: '此备份链未共享。点击“共享”可将其以只读方式共享给其他账户或子账户。' },
  'chain.recipient': { en: 'Account', zh: '账户' },
  'chain.sharedAt': { en: 'Shared at', zh: '共享时间' },
  'chain.expiresAt': { en: 'Expires', zh: '到期时间' },
  'chain.noExpiry': { en: 'Never', zh: '永不过期' },
  'chain.note': { en: 'Note', zh: '备注' },
  'chain.points': { en: 'Backup points', zh: '备份点' },
  'chain.pointsHint': { en: 'Points as a tree: each incremental point hangs from its parent; after a rollback new points branch from the head.', zh: '备份点以树形显示：每个增量备份点挂在其父备份点下；回滚之后的新备份点从当前备份点分出。' },
  'chain.pointType': { en: 'Type', zh: '类型' },
  'chain.full': { en: 'Full', zh: '全量' },
  'chain.incremental': { en: 'Incremental', zh: '增量' },
  'chain.head': { en: 'Head', zh: '当前备份点' },
  'chain.logicalSize': { en: 'Disk size', zh: '硬盘大小' },
  'chain.storedSize': { en: 'Stored', zh: '存储大小' },
  'chain.snapshotAt': { en: 'Taken at', zh: '备份时间' },
  'chain.disks': { en: 'Disks', zh: '硬盘' },
  'chain.activity': { en: 'Share activity', zh: '共享记录' },
  'chain.activityEmpty': { en: 'Nothing yet: shares, images made by recipients and removals appear here.', zh: '暂无记录：共享、接收方制作镜像与删除等操作会显示在这里。' },
  'chain.owner': { en: 'Owner', zh: '所有者' },
  'chain.resourceId': { en: 'Resource', zh: '资源' },
  'chain.readOnly': { en: 'Shared with you by {owner}: read-only. You can make images from its points.', zh: '由 {owner} 共享给您：只读。您可以用其备份点制作新镜像。' },
  'chain.pointActions': { en: 'Actions for point {id}', zh: '备份点 {id} 的操作' },
  'chain.notFound': { en: 'This backup chain does not exist or is not yours.', zh: '此备份链不存在或不属于您。' },
  'chain.inRecycle': { en: 'This chain is in the recycle bin until {time}.', zh: '此备份链位于回收站，{time} 前可恢复。' },

  // point actions
  'point.createVolume': { en: 'Create volume', zh: '创建硬盘' },
  'point.rollback': { en: 'Roll back', zh: '回滚' },
  'point.editTitle': { en: 'Edit backup point', zh: '修改备份点' },
  'point.createVolumeTitle': { en: 'Create volume from backup point', zh: '从备份点创建硬盘' },
  'point.createVolumeBody': { en: 'Creates a new volume in your account, the size of disk {disk} of point {id} ({size}). Its data is written where you say with: cairn volume create-from {id} --to PATH (or cairn restore).', zh: '将在您的账户中创建一个新硬盘，大小与备份点 {id} 的硬盘 {disk} 相同（{size}）。数据通过以下命令写入指定位置：cairn volume create-from {id} --to PATH（或 cairn restore）。' },
  'point.volumeName': { en: 'Volume name', zh: '硬盘名称' },
  'point.disk': { en: 'Disk', zh: '硬盘' },
  'point.volumeCreated': { en: 'Volume {id} created from point {point}.', zh: '已从备份点 {point} 创建硬盘 {id}。' },
  'point.rollbackTitle': { en: 'Roll back resource', zh: '回滚资源' },
  'point.rollbackBody': { en: 'Agent {agent} overwrites the disks of resource {resource} with their state at point {id} ({time}). Whatever was written to them since is lost. The point becomes the head: the next incremental backup branches from it; later points stay in the chain.', zh: '代理 {agent} 将用备份点 {id}（{time}）的数据覆盖资源 {resource} 的硬盘，此后写入的数据将丢失。该备份点成为当前备份点：之后的增量备份从它分出；后来的备份点仍保留在备份链中。' },
  'point.rollbackOffline': { en: 'Roll back needs the agent of resource {resource} online; start cairn agent on its machine.', zh: '回滚需要资源 {resource} 的代理在线；请在其所在机器上启动 cairn agent。' },
  'point.rollbackQueued': { en: 'Rollback job {id} queued.', zh: '回滚作业 {id} 已提交。' },
  'point.deleteTitle': { en: 'Delete backup point', zh: '删除备份点' },
  'point.deleteFull': { en: 'Point {id} is the full point of this chain: deleting it deletes the whole chain, with all {count} points, into the recycle bin. Recipients lose access; images already made are not affected.', zh: '备份点 {id} 是此备份链的全量备份点：删除它将删除整条备份链（共 {count} 个备份点）并移入回收站。共享接收方将失去访问权限；已制作的镜像不受影响。' },
  'point.deleteIncremental': { en: 'Point {id} goes to the recycle bin, restorable for a while. Other points are not affected: each holds its complete data.', zh: '备份点 {id} 将移入回收站，可在一段时间内恢复。其他备份点不受影响：每个备份点都保存了完整数据。' },
  'point.deleteHead': { en: 'It is the head: the head moves back to its parent.', zh: '它是当前备份点：当前备份点将退回到其父备份点。' },
  'point.deleted': { en: 'Point {id} moved to the recycle bin.', zh: '备份点 {id} 已移入回收站。' },
  'point.saved': { en: 'Saved.', zh: '已保存。' },

  // share dialog
  'share.title': { en: 'Share backup', zh: '共享备份' },
  'share.body': { en: 'Share backup chain {name} ({id}) read-only. Recipients see it under Shared backups and can make images from it; they cannot change or delete it.', zh: '以只读方式共享备份链 {name}（{id}）。接收方可在“共享备份”中查看并制作新镜像，但不能修改或删除它。' },
  'share.recipients': { en: 'Accounts', zh: '账户' },
  'share.recipientsHint': { en: 'The registered email or account ID (usr-…) of each account; separate several with commas or spaces.', zh: '填写在本平台注册过的邮箱或账户 ID（usr-…），多个之间用逗号或空格分隔。' },
  'share.add': { en: 'Add', zh: '添加' },
  'share.remove': { en: 'Remove {item}', zh: '移除 {item}' },
  'share.subaccounts': { en: 'Your sub-accounts', zh: '您的子账户' },
  'share.noSubaccounts': { en: 'You have no sub-accounts.', zh: '您没有子账户。' },
  'share.expires': { en: 'Expires at', zh: '到期时间' },
  'share.expiresHint': { en: 'Leave empty to share until you cancel. Your time zone: {tz}.', zh: '留空则一直共享，直到取消。您的时区：{tz}。' },
  'share.note': { en: 'Note to recipients', zh: '备注' },
  'share.needOne': { en: 'Name at least one account.', zh: '请至少填写一个账户。' },
  'share.found': { en: 'Account {id}', zh: '账户 {id}' },
  'share.unknown': { en: 'No active account has this email or ID.', zh: '没有使用此邮箱或 ID 的有效账户。' },
  'share.done': { en: { one: 'Shared {name} with {count} account.', other: 'Shared {name} with {count} accounts.' }, zh: '已将 {name} 共享给 {count} 个账户。' },
  'share.err.self': { en: 'You cannot share a chain with yourself.', zh: '不能共享给自己。' },
  'share.err.duplicate': { en: 'Named twice in this request.', zh: '重复填写了此账户。' },
  'share.err.already_shared': { en: 'This chain is already shared with this account.', zh: '此备份链已共享给该账户。' },
  'share.pending': { en: 'Accounts to share with', zh: '待共享的账户' },

  // cancel sharing
  'unshare.title': { en: 'Cancel sharing backup', zh: '取消共享备份' },
  'unshare.body': { en: 'Choose the accounts that should no longer see backup chain {name}. Cancelling does not touch the source backup, nor any image already made from the share.', zh: '选择不再共享备份链 {name} 的账户。取消共享备份，对源备份数据以及根据共享备份制作的镜像不产生影响。' },
  'unshare.all': { en: 'All accounts', zh: '全部账户' },
  'unshare.none': { en: 'This chain is not shared with anyone.', zh: '此备份链没有共享给任何账户。' },
  'unshare.pick': { en: 'Choose at least one account.', zh: '请至少选择一个账户。' },
  'unshare.done': { en: { one: 'Sharing cancelled for {count} account.', other: 'Sharing cancelled for {count} accounts.' }, zh: '已取消对 {count} 个账户的共享。' },

  // shared backups
  'shared.title': { en: 'Shared backups', zh: '共享备份' },
  'shared.intro': { en: 'Backup chains that other accounts shared with you. You can make images from them in your own account; the owner\'s backup is never changed.', zh: '其他账户共享给您的备份链。您可以用它们在自己的账户中制作新镜像；所有者的备份不会被改动。' },
  'shared.searchPlaceholder': { en: 'Chain, resource or owner', zh: '备份链、资源或所有者' },
  'shared.colOwner': { en: 'Owner', zh: '所有者' },
  'shared.colSharedAt': { en: 'Shared at', zh: '共享时间' },
  'shared.emptyTitle': { en: 'Nothing is shared with you', zh: '暂无共享给您的备份' },
  'shared.emptyBody': { en: 'Ask the owner of a backup to share its chain with your email {email} or your account ID {id}. It then appears here.', zh: '请备份的所有者将备份链共享给您的邮箱 {email} 或账户 ID {id}，之后会显示在这里。' },
  'shared.deleteTitle': { en: 'Delete shared backup', zh: '删除共享备份' },
  'shared.deleteBody': { en: 'Backup chain {name} shared by {owner} leaves your Shared backups list. Deleting a shared backup does not affect the source backup, nor data restored or images made from it. Only the owner can share it with you again.', zh: '由 {owner} 共享的备份链 {name} 将从您的共享备份列表中移除。删除共享备份对源备份无影响，对根据该备份恢复的数据和制作的镜像无影响。只有所有者可以再次共享给您。' },
  'shared.deleted': { en: 'Shared backup {name} removed from your list.', zh: '共享备份 {name} 已从您的列表中删除。' },
  'shared.notFound': { en: 'This chain is not shared with you (any more).', zh: '此备份链未共享给您（或已取消共享）。' },
  'shared.expiresOn': { en: 'Share expires {time}', zh: '共享将于 {time} 到期' },

  // make image
  'image.title': { en: 'Make new image', zh: '制作新镜像' },
  'image.body': { en: 'Makes an image in your account from one disk of a backup point of {name}. No data is copied, so it is ready at once whatever the disk size; the image stays if the backup is deleted or unshared.', zh: '用 {name} 的某个备份点的一个硬盘，在您的账户中制作镜像。不复制数据，无论硬盘多大都立即完成；即使备份被删除或取消共享，镜像依然保留。' },
  'image.point': { en: 'Backup point', zh: '备份点' },
  'image.headMark': { en: '(head)', zh: '（当前）' },
  'image.disk': { en: 'Disk', zh: '硬盘' },
  'image.name': { en: 'Image name', zh: '镜像名称' },
  'image.created': { en: 'Image {id} "{name}" created.', zh: '镜像 {id}“{name}”已创建。' },
  'image.view': { en: 'View images', zh: '查看镜像' },
  'image.noPoint': { en: 'This chain has no available point to make an image from.', zh: '此备份链没有可用于制作镜像的备份点。' },

  // images
  'images.title': { en: 'Images', zh: '镜像' },
  'images.intro': { en: 'Disk images made from backup points, yours or shared with you. Download one as a raw disk image, or restore it with cairn.', zh: '由备份点制作的硬盘镜像，来源可以是您自己的备份或共享给您的备份。可下载为原始硬盘镜像，或用 cairn 恢复。' },
  'images.searchPlaceholder': { en: 'Image name or ID', zh: '镜像名称或 ID' },
  'images.colSource': { en: 'Source', zh: '来源' },
  'images.colSize': { en: 'Size', zh: '大小' },
  'images.own': { en: 'Own backup {chain}', zh: '自有备份 {chain}' },
  'images.sharedFrom': { en: 'Shared by {owner}, chain {chain}', zh: '来自 {owner} 的共享备份 {chain}' },
  'images.filter': { en: 'Source', zh: '来源' },
  'images.filterAll': { en: 'All', zh: '全部' },
  'images.filterOwn': { en: 'Own backups', zh: '自有备份' },
  'images.filterShared': { en: 'Shared backups', zh: '共享备份' },
  'images.rename': { en: 'Rename', zh: '重命名' },
  'images.renameTitle': { en: 'Rename image', zh: '重命名镜像' },
  'images.download': { en: 'Download', zh: '下载' },
  'images.downloadLabel': { en: 'Download {name} as a raw disk image', zh: '下载 {name}（原始硬盘镜像）' },

  // files of a point or an image, read in place
  'files.title': { en: 'Files', zh: '文件浏览' },
  'files.intro': { en: 'The files on {id}, read from the backup where it is: nothing is restored. Download a file, or a folder as a tar archive.', zh: '{id} 中的文件，直接从备份中读取，无需恢复硬盘。可下载单个文件，或将文件夹下载为 tar 归档。' },
  'files.browse': { en: 'Browse files', zh: '浏览文件' },
  // Begins with the visible text, so speech users can say what they see (axe: label-content-name-mismatch).
  'files.browseLabel': { en: 'Browse files of {id}', zh: '浏览文件：{id}' },
  'files.colName': { en: 'Name', zh: '名称' },
  'files.colSize': { en: 'Size', zh: '大小' },
  'files.colMode': { en: 'Permissions', zh: '权限' },
  'files.colOwner': { en: 'Owner (uid:gid)', zh: '所有者（uid:gid）' },
  'files.colModified': { en: 'Modified', zh: '修改时间' },
  'files.download': { en: 'Download', zh: '下载' },
  'files.downloadLabel': { en: 'Download file {name}', zh: '下载文件 {name}' },
  'files.downloadTar': { en: 'Download (tar)', zh: '下载（tar）' },
  'files.downloadTarLabel': { en: 'Download folder {name} as a tar archive', zh: '将文件夹 {name} 下载为 tar 归档' },
  'files.downloadFolder': { en: 'Download this folder', zh: '下载此文件夹' },
  'files.disk': { en: 'Disk', zh: '硬盘' },
  'files.partition': { en: 'Partition', zh: '分区' },
  'files.partitionOption': { en: 'Partition {n}: {fs}, {size}', zh: '分区 {n}：{fs}，{size}' },
  'files.noFilesystem': { en: 'no file system', zh: '无文件系统' },
  'files.breadcrumbs': { en: 'Folder path', zh: '文件夹路径' },
  'files.empty': { en: 'This folder is empty.', zh: '此文件夹为空。' },
  'images.deleteTitle': { en: 'Delete image', zh: '删除镜像' },
  'images.deleteBody': { en: 'Image {name} ({id}) is deleted at once and cannot be restored. The backup it was made from is not affected.', zh: '镜像 {name}（{id}）将立即删除且无法恢复。制作它所用的备份不受影响。' },
  'images.deleted': { en: 'Image {id} deleted.', zh: '镜像 {id} 已删除。' },
  'images.emptyTitle': { en: 'No images yet', zh: '还没有镜像' },
  'images.emptyBody': { en: 'Make one with "Make new image" on a chain under Backup data or Shared backups.', zh: '在“备份数据”或“共享备份”中对备份链点击“制作新镜像”即可制作。' },

  // jobs
  'tasks.title': { en: 'Backup tasks', zh: '备份任务' },
  'tasks.intro': { en: 'Resources backed up on a policy\'s schedule by their agents; old automatic chains beyond the retention rule go to the recycle bin.', zh: '按备份策略的时间由代理自动备份资源；超出保留规则的旧自动备份链会移入回收站。' },
  'tasks.create': { en: 'Create backup task', zh: '创建备份任务' },
  'tasks.edit': { en: 'Edit', zh: '修改' },
  'tasks.colName': { en: 'Task name', zh: '任务名称' },
  'tasks.colResources': { en: 'Resources', zh: '备份资源' },
  'tasks.colRuns': { en: 'Runs', zh: '执行次数' },
  'tasks.colPolicy': { en: 'Backup policy', zh: '备份策略' },
  'tasks.colKeep': { en: 'Retention', zh: '保留规则' },
  'tasks.keepForever': { en: 'Keep forever', zh: '永久保留' },
  'tasks.keepN': { en: { one: 'Newest {count} automatic chain', other: 'Newest {count} automatic chains' }, zh: '保留最新 {count} 条自动备份链' },
  'tasks.keepLabel': { en: 'Automatic chains to keep per resource (1–100)', zh: '每个资源保留的自动备份链数（1–100）' },
  'tasks.type': { en: 'Backup type', zh: '备份类型' },
  'tasks.typeIncremental': { en: 'Incremental', zh: '增量备份' },
  'tasks.typeFull': { en: 'Full', zh: '全量备份' },
  'tasks.enable': { en: 'Enable', zh: '启用' },
  'tasks.disable': { en: 'Disable', zh: '禁用' },
  'tasks.runNow': { en: 'Run now', zh: '立即执行' },
  'tasks.history': { en: 'Run history', zh: '执行记录' },
  'tasks.historyOf': { en: 'Runs of {name}', zh: '{name} 的执行记录' },
  'tasks.noRuns': { en: 'No runs yet', zh: '还没有执行记录' },
  'tasks.trigger': { en: 'Trigger', zh: '触发方式' },
  'tasks.triggerSchedule': { en: 'Scheduled', zh: '定时' },
  'tasks.triggerManual': { en: 'By hand', zh: '手动' },
  'tasks.started_at': { en: 'Started', zh: '开始时间' },
  'tasks.started': { en: 'Run {id} of {name} started.', zh: '{name} 已开始执行（{id}）。' },
  'tasks.noPolicies': { en: 'Create a backup policy first.', zh: '请先创建备份策略。' },
  'tasks.emptyTitle': { en: 'No backup tasks yet', zh: '还没有备份任务' },
  'tasks.emptyBody': { en: 'A task backs up volumes and instances on a policy\'s schedule, through their agents.', zh: '备份任务按备份策略的时间，通过代理备份硬盘和主机。' },
  'tasks.deleteTitle': { en: 'Delete backup task', zh: '删除备份任务' },
  'tasks.deleteBody': { en: 'Delete task {name} ({id}) and its run history? Its backups stay.', zh: '删除备份任务 {name}（{id}）及其执行记录？已有备份会保留。' },
  'policies.title': { en: 'Backup policies', zh: '备份策略' },
  'policies.intro': { en: 'When backup tasks run, and whom to tell when a run ends.', zh: '备份任务何时执行，以及执行结束时通知谁。' },
  'policies.create': { en: 'Create backup policy', zh: '创建备份策略' },
  'policies.edit': { en: 'Edit', zh: '修改' },
  'policies.schedule': { en: 'Schedule', zh: '执行计划' },
  'policies.nextRuns': { en: 'Next runs', zh: '接下来的执行时间' },
  'policies.notify': { en: 'Notify on', zh: '通知事件' },
  'policies.onSuccess': { en: 'Success', zh: '成功' },
  'policies.onFailure': { en: 'Failure', zh: '失败' },
  'policies.tasks': { en: 'Tasks', zh: '任务数' },
  'policies.repeat': { en: 'Type', zh: '类型' },
  'policies.repeating': { en: 'Repeating', zh: '可重复执行' },
  'policies.once': { en: 'Once', zh: '仅执行一次' },
  'policies.kind.daily': { en: 'Daily', zh: '每天' },
  'policies.kind.weekly': { en: 'Weekly', zh: '每周' },
  'policies.kind.monthly': { en: 'Monthly', zh: '每月' },
  'policies.kind.hourly': { en: 'Every N hours', zh: '每隔 N 小时' },
  'policies.kind.cron': { en: 'Cron expression', zh: 'Cron 表达式' },
  'policies.weekDays': { en: 'Days of the week (1 = Monday … 7 = Sunday, comma-separated)', zh: '星期几（1 = 周一 … 7 = 周日，逗号分隔）' },
  'policies.monthDays': { en: 'Days of the month (1–31, comma-separated)', zh: '每月几号（1–31，逗号分隔）' },
  'policies.times': { en: 'Times (HH:MM, comma-separated)', zh: '时间（HH:MM，逗号分隔）' },
  'policies.everyHours': { en: 'Every N hours (1–168)', zh: '间隔小时数（1–168）' },
  'policies.cron': { en: 'Cron expression (5 fields, or 6 with seconds)', zh: 'Cron 表达式（5 段，或带秒的 6 段）' },
  'policies.timezone': { en: 'Time zone', zh: '时区' },
  'policies.emails': { en: 'Emails to notify (comma-separated)', zh: '通知邮箱（逗号分隔）' },
  'policies.webhooks': { en: 'Webhook URLs (http or https, comma-separated)', zh: 'Webhook 地址（http 或 https，逗号分隔）' },
  'policies.emptyTitle': { en: 'No backup policies yet', zh: '还没有备份策略' },
  'policies.emptyBody': { en: 'A policy says when its tasks run: daily, weekly, monthly, every N hours or a cron expression, in a time zone.', zh: '备份策略规定任务何时执行：每天、每周、每月、每隔 N 小时或 Cron 表达式，按指定时区。' },
  'policies.deleteTitle': { en: 'Delete backup policy', zh: '删除备份策略' },
  'policies.deleteBody': { en: 'Delete policy {name} ({id})? A policy that tasks use cannot be deleted.', zh: '删除备份策略 {name}（{id}）？正在被任务使用的策略无法删除。' },
  'jobs.title': { en: 'Jobs', zh: '作业' },
  'jobs.intro': { en: 'Long operations (backups, rollbacks) with their progress; this page refreshes by itself.', zh: '耗时的操作（备份、回滚）及其进度；本页会自动刷新。' },
  'jobs.colAction': { en: 'Action', zh: '操作' },
  'jobs.colResource': { en: 'Resource', zh: '资源' },
  'jobs.colProgress': { en: 'Progress', zh: '进度' },
  'jobs.colRunner': { en: 'Run by', zh: '执行者' },
  'jobs.colFinished': { en: 'Finished', zh: '完成时间' },
  'jobs.progressOf': { en: 'Progress of job {id}', zh: '作业 {id} 的进度' },
  'jobs.action.backup': { en: 'Backup', zh: '备份' },
  'jobs.action.rollback': { en: 'Roll back', zh: '回滚' },
  'jobs.runner.client': { en: 'CLI', zh: '命令行' },
  'jobs.runner.server': { en: 'Server', zh: '服务器' },
  'jobs.live': { en: 'Live', zh: '实时' },
  'jobs.emptyTitle': { en: 'No jobs yet', zh: '还没有作业' },
  'jobs.emptyBody': { en: 'Backups taken with the CLI and Backup now / Roll back from this console appear here with their progress.', zh: '用命令行进行的备份，以及在控制台中“立即备份”“回滚”的作业会显示在这里，并显示进度。' },
  'jobs.filter': { en: 'Status', zh: '状态' },
  'jobs.filterAll': { en: 'All', zh: '全部' },

  // recycle bin
  'recycle.title': { en: 'Recycle bin', zh: '回收站' },
  'recycle.intro': { en: 'Deleted chains and points stay here for a while, then are removed for good.', zh: '已删除的备份链和备份点会在此保留一段时间，之后被永久删除。' },
  'recycle.colKind': { en: 'Kind', zh: '类型' },
  'recycle.kind.chain': { en: 'Backup chain', zh: '备份链' },
  'recycle.kind.point': { en: 'Backup point', zh: '备份点' },
  'recycle.colDeletedAt': { en: 'Deleted', zh: '删除时间' },
  'recycle.colPurgeAfter': { en: 'Removed for good after', zh: '永久删除时间' },
  'recycle.restore': { en: 'Restore', zh: '恢复' },
  'recycle.purge': { en: 'Delete for good', zh: '永久删除' },
  'recycle.purgeTitle': { en: 'Delete for good', zh: '永久删除' },
  'recycle.purgeBody': { en: '{kind} {id} is removed for good; its data goes at the next garbage collection unless an image still needs it.', zh: '{kind} {id} 将被永久删除；其数据会在下次垃圾回收时清除（仍被镜像使用的数据除外）。' },
  'recycle.restored': { en: '{id} restored.', zh: '{id} 已恢复。' },
  'recycle.purged': { en: '{id} deleted for good.', zh: '{id} 已永久删除。' },
  'recycle.emptyTitle': { en: 'The recycle bin is empty', zh: '回收站是空的' },
  'recycle.emptyBody': { en: 'Deleted backup chains and points appear here while they can still be restored.', zh: '删除的备份链和备份点在可恢复期间会显示在这里。' },

  // activity
  'activity.title': { en: 'Activity', zh: '操作记录' },
  'activity.intro': { en: 'What happened to the chains you share and those shared with you, for both sides to read.', zh: '您共享的备份链和共享给您的备份链上发生的操作，双方都可查看。' },
  'activity.notifications': { en: 'Notifications', zh: '通知' },
  'activity.events': { en: 'Event log', zh: '事件日志' },
  'activity.markRead': { en: 'Mark as read', zh: '标为已读' },
  'activity.unread': { en: 'Unread', zh: '未读' },
  'activity.read': { en: 'Read', zh: '已读' },
  'activity.colTime': { en: 'Time', zh: '时间' },
  'activity.colEvent': { en: 'Event', zh: '事件' },
  'activity.noNotifications': { en: 'No notifications. You are told here when a chain is shared with you, unshared or deleted.', zh: '没有通知。当有备份链共享给您、取消共享或被删除时，会在这里通知您。' },
  'activity.noEvents': { en: 'No events yet. Share a chain under Backup data to start.', zh: '暂无事件。可在“备份数据”中共享备份链。' },
  'event.share.created': { en: '{actor} shared chain {chain} with {recipient}', zh: '{actor}将备份链{chain}共享给{recipient}' },
  'event.share.cancelled': { en: '{actor} cancelled sharing chain {chain} with {recipient}', zh: '{actor}取消了对{recipient}共享备份链{chain}' },
  'event.share.expired': { en: 'Sharing chain {chain} with {recipient} expired', zh: '备份链{chain}对{recipient}的共享已到期' },
  'event.share.removed': { en: '{recipient} deleted shared chain {chain} from their list', zh: '{recipient}从其列表中删除了共享备份{chain}' },
  'event.image.created': { en: '{actor} made image {image} from shared chain {chain}', zh: '{actor}用共享备份{chain}制作了镜像{image}' },
  'event.chain.deleted': { en: '{actor} deleted chain {chain}', zh: '{actor}删除了备份链{chain}' },
  'event.chain.restored': { en: '{actor} restored chain {chain}', zh: '{actor}恢复了备份链{chain}' },
  'event.chain.purged': { en: 'Chain {chain} was removed for good', zh: '备份链{chain}已被永久删除' },
  'event.other': { en: '{type} on chain {chain}', zh: '备份链{chain}：{type}' },
  'event.you': { en: 'you', zh: '您' },
  // zh event texts have no spaces around {actor}, {recipient}…: describeEvent puts one only beside Latin text (an email, an ID), never beside 您.

  // sub-accounts
  'sub.title': { en: 'Sub-accounts', zh: '子账户' },
  'sub.intro': { en: 'Full accounts of their own, listed under yours; you can share backups with them by picking them from a list.', zh: '拥有独立账户的子账户，列在您的账户下；共享备份时可以从列表中选择它们。' },
  'sub.create': { en: 'Create sub-account', zh: '创建子账户' },
  'sub.created': { en: 'Sub-account {email} created.', zh: '子账户 {email} 已创建。' },
  'sub.disable': { en: 'Disable', zh: '禁用' },
  'sub.enable': { en: 'Enable', zh: '启用' },
  'sub.deleteTitle': { en: 'Delete sub-account', zh: '删除子账户' },
  'sub.deleteBody': { en: 'Sub-account {email} ({id}) and its sign-in are deleted.', zh: '子账户 {email}（{id}）及其登录将被删除。' },
  'sub.emptyTitle': { en: 'No sub-accounts', zh: '没有子账户' },
  'sub.emptyBody': { en: 'Create one for a team that should receive your backups, then share chains with it.', zh: '可为需要接收您备份的团队创建子账户，然后将备份链共享给它。' },
  'sub.notAllowed': { en: 'A sub-account cannot have sub-accounts of its own.', zh: '子账户不能拥有自己的子账户。' },

  // tokens
  'tokens.title': { en: 'API tokens', zh: 'API 密钥' },
  'tokens.intro': { en: 'Tokens let programs, agents and the cairn CLI act as your account. `cairn login` makes one for the CLI.', zh: '密钥允许程序、代理和 cairn 命令行以您的账户身份操作。`cairn login` 会为命令行创建一个。' },
  'tokens.create': { en: 'Create token', zh: '创建密钥' },
  'tokens.lastUsed': { en: 'Last used', zh: '最近使用' },
  'tokens.revoke': { en: 'Revoke', zh: '吊销' },
  'tokens.revokeTitle': { en: 'Revoke API token', zh: '吊销 API 密钥' },
  'tokens.revokeBody': { en: 'Token {name} ({id}) stops working at once; programs using it must get a new one.', zh: '密钥 {name}（{id}）将立即失效；使用它的程序需要新的密钥。' },
  'tokens.secret': { en: 'The token, shown only now: copy it.', zh: '密钥内容只显示这一次，请立即复制。' },
  'tokens.secretLabel': { en: 'New token', zh: '新密钥' },
  'tokens.emptyTitle': { en: 'No API tokens', zh: '没有 API 密钥' },
  'tokens.emptyBody': { en: 'Run cairn login on a machine, or create one here for a program.', zh: '在机器上运行 cairn login，或在此为程序创建一个。' },
  // access keys (QingCloud's action API at /iaas/)
  'keys.title': { en: 'Access keys for QingCloud\'s SDKs and CLI', zh: '青云 SDK 与命令行的 API 密钥' },
  'keys.intro': { en: 'QingCloud\'s SDKs and qingcloud-cli sign their requests with an access key. Point them at this server\'s /iaas/ and they manage your backups unchanged. `cairn access-key create` makes one too.', zh: '青云的 SDK 和 qingcloud-cli 用 API 密钥签名请求。将它们指向本服务器的 /iaas/，即可原样管理您的备份。也可用 `cairn access-key create` 创建。' },
  'keys.create': { en: 'Create access key', zh: '创建 API 密钥' },
  'keys.id': { en: 'Access key ID', zh: 'API 密钥 ID' },
  'keys.secretLabel': { en: 'Secret access key', zh: '私钥' },
  'keys.secret': { en: 'The secret, shown only now: copy it with the ID (qy_access_key_id and qy_secret_access_key in qingcloud-cli\'s config).', zh: '私钥只显示这一次：请与 ID 一起复制（即 qingcloud-cli 配置中的 qy_access_key_id 和 qy_secret_access_key）。' },
  'keys.disable': { en: 'Disable', zh: '禁用' },
  'keys.enable': { en: 'Enable', zh: '启用' },
  'keys.delete': { en: 'Delete', zh: '删除' },
  'keys.deleteTitle': { en: 'Delete access key', zh: '删除 API 密钥' },
  'keys.deleteBody': { en: 'Key {name} ({id}) is deleted for good; programs signing with it are refused at once.', zh: '密钥 {name}（{id}）将被永久删除；用它签名的程序将立即被拒绝。' },
  'keys.emptyTitle': { en: 'No access keys', zh: '没有 API 密钥' },
  'keys.emptyBody': { en: 'Create one to use QingCloud\'s SDKs or qingcloud-cli with this server.', zh: '创建一个，即可在本服务器上使用青云的 SDK 或 qingcloud-cli。' },

  // backup data workflow: bulk actions, the "more" menu, live job progress
  'common.more': { en: 'More', zh: '更多操作' },
  'backups.selectAll': { en: 'Select all chains on this page', zh: '选择本页全部备份链' },
  'backups.select': { en: 'Select {name}', zh: '选择 {name}' },
  'backups.selectResource': { en: 'Select the chains of {name}', zh: '选择 {name} 的全部备份链' },
  'backups.bulkActions': { en: 'Actions on the selected chains', zh: '对所选备份链的操作' },
  'backups.selected': { en: { one: '{count} chain selected', other: '{count} chains selected' }, zh: '已选 {count} 条备份链' },
  'backups.bulkShare': { en: 'Share selected', zh: '批量共享' },
  'backups.bulkCancelShare': { en: 'Cancel sharing of selected', zh: '批量取消共享' },
  'backups.bulkDelete': { en: 'Delete selected', zh: '批量删除' },
  'backups.bulkDeleteTitle': { en: 'Delete backup chains', zh: '删除备份链' },
  'backups.bulkDeleteBody': { en: { one: 'This chain ({points} points in all) goes to the recycle bin, restorable for a while. Recipients lose access; images already made are not affected.', other: 'These {count} chains ({points} points in all) go to the recycle bin, restorable for a while. Recipients lose access; images already made are not affected.' }, zh: '这 {count} 条备份链（共 {points} 个备份点）将移入回收站，可在一段时间内恢复。共享接收方将失去访问权限；已制作的镜像不受影响。' },
  'backups.bulkChosen': { en: 'Chosen chains', zh: '已选的备份链' },
  'backups.pointsCount': { en: { one: '{count} point', other: '{count} points' }, zh: '{count} 个备份点' },
  'bulk.summary': { en: '{ok} of {total} done, {failed} failed.', zh: '共 {total} 项：{ok} 项成功，{failed} 项失败。' },
  'bulk.results': { en: 'Result for each chain', zh: '各备份链的结果' },
  'bulk.ok': { en: 'done', zh: '成功' },
  'share.bodyMany': { en: 'Share {count} backup chains ({ids}) read-only with the same accounts. Each chain is shared in turn; the result of each is shown afterwards.', zh: '以只读方式将 {count} 条备份链（{ids}）共享给相同的账户。逐条共享，完成后显示每条的结果。' },
  'unshare.bodyMany': { en: 'Choose the accounts that should no longer see the {count} chosen chains. Each chain stops being shared with those of them it was shared with. The source backups and images already made are not affected.', zh: '选择不再能查看所选 {count} 条备份链的账户；每条备份链对其中已共享的账户取消共享。对源备份数据以及已制作的镜像不产生影响。' },
  'unshare.noneMany': { en: 'None of these chains is shared.', zh: '这些备份链都没有共享。' },
  'unshare.onChains': { en: 'shares {ids}', zh: '共享了 {ids}' },
  'backupNow.bodyFull': { en: 'Agent {agent} reads all of resource {resource} now and starts a new chain with it. The job appears under Jobs.', zh: '代理 {agent} 将立即读取资源 {resource} 的全部数据，并以此新建一条备份链。作业可在“作业”中查看。' },
  'backupNow.start': { en: 'Start backup', zh: '开始备份' },
  'backupNow.running': { en: 'Agent {agent} is backing up resource {resource}.', zh: '代理 {agent} 正在备份资源 {resource}。' },
  'backupNow.done': { en: 'Done: point {point} made; {stored} newly stored.', zh: '完成：已生成备份点 {point}，新存储 {stored}。' },
  'backupNow.viewChain': { en: 'Open its chain', zh: '查看备份链' },
  'point.rollbackRunning': { en: 'Agent {agent} is writing point {id} ({time}) back onto resource {resource}.', zh: '代理 {agent} 正在将备份点 {id}（{time}）写回资源 {resource}。' },
  'point.rollbackDone': { en: 'Done: resource {resource} is back at point {id} ({time}); the point is now the head.', zh: '完成：资源 {resource} 已回滚到备份点 {id}（{time}），该备份点已成为当前备份点。' },
  'jobProgress.job': { en: 'Job {id}', zh: '作业 {id}' },
  'jobProgress.bytes': { en: 'Done', zh: '已完成' },
  'jobProgress.bytesOf': { en: '{done} of {total} ({pct}%)', zh: '{done} / {total}（{pct}%）' },
  'jobProgress.waiting': { en: 'Waiting for the agent to start…', zh: '等待代理开始…' },
  'jobProgress.rate': { en: 'Rate', zh: '速率' },
  'jobProgress.left': { en: 'Time left', zh: '剩余时间' },
  'jobProgress.failed': { en: 'Failed: {error}', zh: '失败：{error}' },
  'jobProgress.canClose': { en: 'You can close this dialog: the job goes on, and Jobs shows it.', zh: '可以关闭此对话框：作业会继续执行，可在“作业”中查看。' },
  'chain.colPoint': { en: 'ID / Point name', zh: 'ID/备份点名称' },
  'images.colName': { en: 'ID / Image name', zh: 'ID/镜像名称' },
  'shared.gone': { en: 'The owner {owner} deleted this chain: it is no longer available. Images you already made from it are not affected; you can delete it from your list.', zh: '所有者 {owner} 已删除此备份链，它已不可用。您已用它制作的镜像不受影响；可以将它从您的列表中删除。' },
  'shared.goneNoPoints': { en: 'No points to show: the chain was deleted.', zh: '没有可显示的备份点：备份链已被删除。' },
  'activity.markAllRead': { en: 'Mark all read', zh: '全部标为已读' },

  // errors
  'error.generic': { en: 'Something went wrong: {message}', zh: '出错了：{message}' },
  'error.notFoundPage': { en: 'There is no page here.', zh: '此页面不存在。' },
} satisfies Record<string, Entry>;

export type Key = keyof typeof M;
export type Vars = Record<string, string | number>;

const LANG_KEY = 'cairn.lang';

export function detectLang(): Lang {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved === 'zh-CN' || saved === 'en') return saved;
  const langs = navigator.languages?.length ? navigator.languages : [navigator.language];
  for (const l of langs) {
    const low = l.toLowerCase();
    if (low.startsWith('zh')) return 'zh-CN';
    if (low.startsWith('en')) return 'en';
  }
  return 'en';
}

function fill(text: string, vars?: Vars): string {
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
}

export function translate(lang: Lang, key: Key, vars?: Vars): string {
  const e: Entry = M[key];
  if (lang === 'zh-CN') return fill(e.zh, vars);
  const en = e.en;
  if (typeof en === 'string') return fill(en, vars);
  const n = typeof vars?.count === 'number' ? vars.count : 0;
  return fill(new Intl.PluralRules('en').select(n) === 'one' ? en.one : en.other, vars);
}

export interface I18n {
  lang: Lang;
  setLang(l: Lang): void;
  t(key: Key, vars?: Vars): string;
}

const Ctx = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(detectLang);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const setLang = useCallback((l: Lang) => {
    localStorage.setItem(LANG_KEY, l);
    setLangState(l);
  }, []);
  const value = useMemo<I18n>(() => ({ lang, setLang, t: (key, vars) => translate(lang, key, vars) }), [lang, setLang]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(Ctx);
  if (!v) throw new Error('useI18n outside I18nProvider');
  return v;
}

export function isKey(k: string): k is Key {
  return Object.prototype.hasOwnProperty.call(M, k);
}
