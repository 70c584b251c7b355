# The example configuration and the systemd unit.
#
# make install puts the example into $(sysconfdir)/msgrouterd.conf, but
# never over a file that is already there: that one is the operator's.
# uninstall removes it only while it is still the unmodified example.
EXTRA_DIST += etc/msgrouterd.conf etc/msgrouterd.service

install-data-local: install-msgrouterd-conf
uninstall-local: uninstall-msgrouterd-conf

install-msgrouterd-conf:
	$(MKDIR_P) '$(DESTDIR)$(sysconfdir)'
	@if test -f '$(DESTDIR)$(sysconfdir)/msgrouterd.conf'; then \
		echo "keeping existing $(DESTDIR)$(sysconfdir)/msgrouterd.conf"; \
	else \
		echo " $(INSTALL_DATA) etc/msgrouterd.conf '$(DESTDIR)$(sysconfdir)/msgrouterd.conf'"; \
		$(INSTALL_DATA) $(srcdir)/etc/msgrouterd.conf \
		    '$(DESTDIR)$(sysconfdir)/msgrouterd.conf'; \
	fi

uninstall-msgrouterd-conf:
	@if cmp -s $(srcdir)/etc/msgrouterd.conf \
	    '$(DESTDIR)$(sysconfdir)/msgrouterd.conf'; then \
		echo " rm -f '$(DESTDIR)$(sysconfdir)/msgrouterd.conf'"; \
		rm -f '$(DESTDIR)$(sysconfdir)/msgrouterd.conf'; \
	fi

.PHONY: install-msgrouterd-conf uninstall-msgrouterd-conf
