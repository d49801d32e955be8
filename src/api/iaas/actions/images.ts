import { imageItem } from '../views.js';
import type { Action } from '../action.js';

const DescribeImages: Action = async ({ caller, params: p, s }) => {
  const ids = p.list('images');
  const page = p.page();
  // Cairn's images are all the caller's own ("self"); QingCloud's system images are none of its business.
  const provider = p.oneOf('provider', { self: 'self', system: 'system' });
  if (provider === 'system') return { image_set: [], total_count: 0 };
  if (ids.length) {
    const items = [];
    for (const id of ids) items.push(await s.images.get(caller, id));
    return { image_set: items.slice(page.offset, page.offset + page.limit).map(imageItem), total_count: items.length };
  }
  const res = await s.images.list(caller, page, { search: p.string('search_word') || undefined });
  return { image_set: res.items.map(imageItem), total_count: res.total_count };
};

const ModifyImageAttributes: Action = async ({ caller, params: p, s }) => {
  const id = p.required('image');
  const name = p.string('image_name');
  const description = p.string('description');
  const image = await s.images.edit(caller, id, { ...(name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}) });
  return { image_id: image.id };
};

const DeleteImages: Action = async ({ caller, params: p, s }) => {
  const ids = p.requiredList('images');
  // Images are never shared: finding each one first leaves all in place when one is not the caller's.
  for (const id of ids) await s.images.get(caller, id);
  for (const id of ids) await s.images.delete(caller, id);
  return { images: ids };
};

export const imageActions = { DescribeImages, ModifyImageAttributes, DeleteImages };
