/*
 * dashboard: the admin interface's browser page, its stylesheet and its
 * script, built into the binary from src/dashboard/ (the make rule in
 * src/local.mk turns each file into a C string in dashboard-assets.c).
 * The files hold no figures: the script fetches them from the JSON
 * endpoints with the operator's token, so serving them needs none.
 */
#ifndef MSGROUTER_DASHBOARD_H
#define MSGROUTER_DASHBOARD_H

#include <stddef.h>

/* One built-in file: the path it is served at, its type and bytes. */
struct dashboard_asset {
	const char	*da_path;
	const char	*da_type;
	const char	*da_data;
	size_t		 da_len;
};

/* The asset served at path, or NULL. */
const struct dashboard_asset	*dashboard_find(const char *path);
/* The page itself (also served at / to browsers). */
const struct dashboard_asset	*dashboard_page(void);

#endif
