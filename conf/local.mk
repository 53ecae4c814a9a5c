# SPDX-License-Identifier: LGPL-2.1-or-later
EXTRA_DIST += conf/mdp11.module.in
# The module configuration: a short file in $(sysconfdir)/mdp11, and the fully commented
# example (every option with its default) with the documentation.
mdp11confdir = $(sysconfdir)/mdp11
dist_mdp11conf_DATA = conf/mdp11.conf
mdp11docdir = $(docdir)
dist_mdp11doc_DATA = conf/mdp11.conf.example

# The p11-kit module file (made by configure from conf/mdp11.module.in).
p11moduledir = $(p11_module_configs)
p11module_DATA = conf/mdp11.module
