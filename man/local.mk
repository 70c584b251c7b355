# Manual pages: msgrouterd(8) and msgrouterd.conf(5).
dist_man5_MANS = man/msgrouterd.conf.5
dist_man8_MANS = man/msgrouterd.8
