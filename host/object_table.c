// SPDX-License-Identifier: GPL-2.0-or-later
#define _GNU_SOURCE
#include "object_table.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"

/* A list is enough: a guest has at most a few hundred exported resources. */
struct table_node {
	struct table_node *next;
	struct vv_object *obj;
};

struct vv_object_table {
	struct table_node *head;
	unsigned int count;
};

struct vv_object_table *vv_object_table_new(void)
{
	return calloc(1, sizeof(struct vv_object_table));
}

void vv_object_table_free(struct vv_object_table *table)
{
	if (!table)
		return;
	while (table->head)
		vv_object_kill(table, table->head->obj);
	free(table);
}

static bool random_uuid(uint8_t uuid[16])
{
	if (getrandom(uuid, 16, 0) != 16)
		return false;
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);	/* version 4 */
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	return true;
}

static struct table_node *find_node(const struct vv_object_table *table, const uint8_t uuid[16])
{
	for (struct table_node *n = table->head; n; n = n->next)
		if (!memcmp(n->obj->uuid, uuid, 16))
			return n;
	return NULL;
}

struct vv_object *vv_object_create(struct vv_object_table *table)
{
	struct vv_object *obj = calloc(1, sizeof(*obj));
	struct table_node *node = calloc(1, sizeof(*node));

	if (!obj || !node)
		goto fail;
	do {
		if (!random_uuid(obj->uuid))
			goto fail;
	} while (find_node(table, obj->uuid));
	obj->refcount = 1;
	obj->alive = true;
	node->obj = obj;
	node->next = table->head;
	table->head = node;
	table->count++;
	return obj;
fail:
	free(obj);
	free(node);
	return NULL;
}

bool vv_object_set_backing(struct vv_object *obj, const struct vv_object_entry *entries,
			   unsigned int n)
{
	struct vv_object_entry *copy = NULL;

	if (n) {
		copy = malloc(n * sizeof(*copy));
		if (!copy)
			return false;
		memcpy(copy, entries, n * sizeof(*copy));
	}
	free(obj->entries);
	obj->entries = copy;
	obj->num_entries = n;
	obj->backing_generation++;
	return true;
}

void vv_object_kill(struct vv_object_table *table, struct vv_object *obj)
{
	for (struct table_node **pp = &table->head; *pp; pp = &(*pp)->next) {
		if ((*pp)->obj == obj) {
			struct table_node *node = *pp;

			*pp = node->next;
			free(node);
			table->count--;
			break;
		}
	}
	obj->alive = false;
	vv_object_set_backing(obj, NULL, 0);
	vv_object_put(obj);
}

struct vv_object *vv_object_lookup(struct vv_object_table *table, const uint8_t uuid[16])
{
	struct table_node *n = table ? find_node(table, uuid) : NULL;

	if (!n || !n->obj->alive)
		return NULL;
	vv_object_get(n->obj);
	return n->obj;
}

void vv_object_get(struct vv_object *obj)
{
	obj->refcount++;
}

void vv_object_put(struct vv_object *obj)
{
	if (obj && !--obj->refcount) {
		free(obj->entries);
		free(obj);
	}
}

unsigned int vv_object_table_count(const struct vv_object_table *table)
{
	return table->count;
}
