# SPDX-License-Identifier: LGPL-2.1-or-later
EXTRA_DIST += conf/mdp11.module.in conf/mdp11.pc.in conf/mdp11.conf.in

# The module configuration: a short file in $(sysconfdir)/mdp11 that names the installed
# documentation (so it is made from conf/mdp11.conf.in with the expanded $(docdir)), and the
# fully commented example (every option with its default) with the documentation.
mdp11confdir = $(sysconfdir)/mdp11
noinst_DATA = conf/mdp11.conf
CLEANFILES += conf/mdp11.conf
conf/mdp11.conf: $(srcdir)/conf/mdp11.conf.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf && \
	sed -e 's|@docdir[@]|$(docdir)|g' $(srcdir)/conf/mdp11.conf.in >$@.tmp && mv $@.tmp $@

# An existing configuration is never overwritten: when it differs from the new default, the
# new default goes beside it as mdp11.conf.new and make says so. Uninstall removes the file
# only when it is the unchanged default.
install-data-local: install-mdp11-conf
uninstall-local: uninstall-mdp11-conf
.PHONY: install-mdp11-conf uninstall-mdp11-conf
install-mdp11-conf: conf/mdp11.conf
	@$(MKDIR_P) "$(DESTDIR)$(mdp11confdir)"
	@dst="$(DESTDIR)$(mdp11confdir)/mdp11.conf"; \
	if test ! -e "$$dst" && test ! -h "$$dst"; then \
		echo " $(INSTALL_DATA) conf/mdp11.conf '$$dst'"; \
		$(INSTALL_DATA) conf/mdp11.conf "$$dst" || exit 1; \
	elif cmp -s conf/mdp11.conf "$$dst"; then \
		echo "mdp11: $$dst is already the default configuration"; \
	else \
		$(INSTALL_DATA) conf/mdp11.conf "$$dst.new" || exit 1; \
		echo "mdp11: kept your configuration $$dst (it differs from the new default);"; \
		echo "mdp11: the new default configuration is $$dst.new (compare, then remove it)"; \
	fi
uninstall-mdp11-conf: conf/mdp11.conf
	@dst="$(DESTDIR)$(mdp11confdir)/mdp11.conf"; \
	for f in "$$dst" "$$dst.new"; do \
		if cmp -s conf/mdp11.conf "$$f"; then \
			echo " rm -f '$$f'"; rm -f "$$f"; \
		elif test -e "$$f"; then \
			echo "mdp11: kept $$f (changed from the default configuration)"; \
		fi; \
	done

# The documentation the configuration points at: README, the example with every option and
# the docs/ pages, laid out as in the source tree so that their links between each other work.
mdp11docdir = $(docdir)
nobase_dist_mdp11doc_DATA = README.md conf/mdp11.conf.example $(MDP11_DOCS)
MDP11_DOCS = \
	docs/blobs.md docs/design.md docs/ecosystem.md docs/issue-status.md docs/ksp.md \
	docs/minidriver.md docs/packaging.md docs/piv.md docs/pkcs11.md docs/remote.md docs/testing.md \
	docs/tool.md docs/vcard-piv.md docs/vcard-tool.md docs/vcard.md

# The p11-kit module file (made by configure from conf/mdp11.module.in).
p11moduledir = $(p11_module_configs)
p11module_DATA = conf/mdp11.module

# pkg-config file for the installed headers (vendor attributes, card module interface) and
# the module's path.
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = conf/mdp11.pc

# Bash completion for both tools (one script, loaded by bash-completion under either name).
bashcompletion_DATA = conf/completion/mdp11-tool
EXTRA_DIST += conf/completion/mdp11-tool
install-data-hook: install-mdp11-completion-link
uninstall-hook: uninstall-mdp11-completion-link
.PHONY: install-mdp11-completion-link uninstall-mdp11-completion-link
install-mdp11-completion-link:
	cd "$(DESTDIR)$(bashcompletiondir)" && rm -f mdp11-vcard && $(LN_S) mdp11-tool mdp11-vcard
uninstall-mdp11-completion-link:
	rm -f "$(DESTDIR)$(bashcompletiondir)/mdp11-vcard"

# make install / uninstall into a DESTDIR, and the completions against the built tools.
TESTS += tests/integration/install.sh tests/integration/completion.sh
EXTRA_DIST += tests/integration/install.sh tests/integration/completion.sh
