/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * vv-client's modes: the decoder client (vv-client.c, the default) and the
 * encoder client (vv-client-enc.c, --encode). Each mode has its own options,
 * globals and device connection; main() only picks one.
 */
#ifndef VV_CLIENT_H
#define VV_CLIENT_H

/* vv-client --encode ...: the whole command line (the --encode flag included). */
int vv_client_encode(int argc, char **argv);

#endif /* VV_CLIENT_H */
