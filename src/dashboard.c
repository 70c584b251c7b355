/*
 * dashboard: look up the built-in files of the admin page.  Their bytes
 * come from dashboard-assets.c, generated at build time from
 * src/dashboard/ (see src/local.mk).
 */
#include "config.h"

#include <string.h>

#include "msgrouter/dashboard.h"

extern const char	dashboard_index_html[];
extern const size_t	dashboard_index_html_len;
extern const char	dashboard_dashboard_css[];
extern const size_t	dashboard_dashboard_css_len;
extern const char	dashboard_dashboard_js[];
extern const size_t	dashboard_dashboard_js_len;

/* Filled on first use: the lengths are not constant expressions here. */
static struct dashboard_asset dashboard_assets[3];

/* Fill the table from the generated arrays. */
static void
dashboard_init(void)
{
	if (dashboard_assets[0].da_path != NULL)
		return;
	dashboard_assets[0] = (struct dashboard_asset){ "/dashboard",
	    "text/html; charset=utf-8", dashboard_index_html,
	    dashboard_index_html_len };
	dashboard_assets[1] = (struct dashboard_asset){ "/dashboard.css",
	    "text/css; charset=utf-8", dashboard_dashboard_css,
	    dashboard_dashboard_css_len };
	dashboard_assets[2] = (struct dashboard_asset){ "/dashboard.js",
	    "text/javascript; charset=utf-8", dashboard_dashboard_js,
	    dashboard_dashboard_js_len };
}

const struct dashboard_asset *
dashboard_find(const char *path)
{
	size_t	i;

	dashboard_init();
	for (i = 0; i < sizeof dashboard_assets / sizeof dashboard_assets[0];
	    i++)
		if (strcmp(path, dashboard_assets[i].da_path) == 0)
			return &dashboard_assets[i];
	return NULL;
}

const struct dashboard_asset *
dashboard_page(void)
{
	dashboard_init();
	return &dashboard_assets[0];
}
