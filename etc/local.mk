# The example configuration and the systemd units.
#
# make install puts the example into $(sysconfdir)/msgrouterd/msgrouterd.conf,
# the directory where the template unit also looks for NAME.conf, but never
# over a file that is already there: that one is the operator's.  uninstall
# removes it only while it is still the unmodified example.
EXTRA_DIST += etc/msgrouterd.conf etc/msgrouterd.service.in
msgrouterdconfdir = $(sysconfdir)/msgrouterd

install-data-local: install-msgrouterd-conf
uninstall-local: uninstall-msgrouterd-conf

install-msgrouterd-conf:
	$(MKDIR_P) '$(DESTDIR)$(msgrouterdconfdir)'
	@if test -f '$(DESTDIR)$(msgrouterdconfdir)/msgrouterd.conf'; then \
		echo "keeping existing $(DESTDIR)$(msgrouterdconfdir)/msgrouterd.conf"; \
	else \
		echo " $(INSTALL_DATA) etc/msgrouterd.conf '$(DESTDIR)$(msgrouterdconfdir)/msgrouterd.conf'"; \
		$(INSTALL_DATA) $(srcdir)/etc/msgrouterd.conf \
		    '$(DESTDIR)$(msgrouterdconfdir)/msgrouterd.conf'; \
	fi

uninstall-msgrouterd-conf:
	@if cmp -s $(srcdir)/etc/msgrouterd.conf \
	    '$(DESTDIR)$(msgrouterdconfdir)/msgrouterd.conf'; then \
		echo " rm -f '$(DESTDIR)$(msgrouterdconfdir)/msgrouterd.conf'"; \
		rm -f '$(DESTDIR)$(msgrouterdconfdir)/msgrouterd.conf'; \
	fi

.PHONY: install-msgrouterd-conf uninstall-msgrouterd-conf

# Two units from one source, so that the hardening is written once:
# msgrouterd.service runs the file above, the template msgrouterd@NAME.service
# runs $(msgrouterdconfdir)/NAME.conf.  The paths are the configured ones,
# so the units agree with what make install put where.
MSGROUTERD_UNITS = etc/msgrouterd.service etc/msgrouterd@.service
if INSTALL_SYSTEMD_UNITS
systemdsystemunit_DATA = $(MSGROUTERD_UNITS)
else
noinst_DATA = $(MSGROUTERD_UNITS)
endif
CLEANFILES += $(MSGROUTERD_UNITS)

msgrouterd_unit_edit = sed \
	-e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g'

etc/msgrouterd.service: etc/msgrouterd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) etc && $(msgrouterd_unit_edit) \
	    -e 's|@instance[@]||g' \
	    -e 's|@rundir[@]|msgrouterd|g' \
	    -e 's|@conffile[@]|$(msgrouterdconfdir)/msgrouterd.conf|g' \
	    $(srcdir)/etc/msgrouterd.service.in >$@.tmp && mv $@.tmp $@

etc/msgrouterd@.service: etc/msgrouterd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) etc && $(msgrouterd_unit_edit) \
	    -e 's|@instance[@]| (%i)|g' \
	    -e 's|@rundir[@]|msgrouterd/%i|g' \
	    -e 's|@conffile[@]|$(msgrouterdconfdir)/%i.conf|g' \
	    $(srcdir)/etc/msgrouterd.service.in >$@.tmp && mv $@.tmp $@

# The monitoring kit (docs/MONITORING.md): Prometheus rules with their
# unit tests (promtool test rules reads the rules next to it, so they
# install side by side) and the Grafana dashboard, as data for operators
# to copy into their Prometheus and Grafana.
msgrouterdprometheusdir = $(datadir)/msgrouterd/prometheus
dist_msgrouterdprometheus_DATA = etc/prometheus/msgrouter-rules.yml \
	etc/prometheus/msgrouter-rules_test.yml
msgrouterdgrafanadir = $(datadir)/msgrouterd/grafana
dist_msgrouterdgrafana_DATA = etc/grafana/msgrouter.json
