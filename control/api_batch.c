/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Batch: many Create, Update and Delete requests of any kinds as one
 * transaction (txn.h). Each is decoded and validated against the store as
 * the earlier ones left it; the first refusal undoes them all and names its
 * operation; the data plane then takes the whole change in one publication,
 * so N objects cost one table update, not N.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/api.h"
#include "control/txn.h"
#include "proto/pb.h"

/* Prefix e's message with where in the batch it arose. */
static enum kd_status
at_operation(struct kd_err *e, size_t i, const char *method)
{
	char msg[KD_ERR_LEN];

	memcpy(msg, e->msg, sizeof(msg));
	return kd_err_set(e, e->code, "operations[%zu] (%s): %s", i, method, msg);
}

/* The method of a batch operation: "CreateService" or a full path. */
static int
batch_method(const char *m, const struct kd_kind **k, enum kd_verb *verb)
{
	char full[160];

	if (m[0] == '/')
		return kd_kind_parse_method(m, k, verb);
	snprintf(full, sizeof(full), "/" KD_API_SERVICE "/%s", m);
	return kd_kind_parse_method(full, k, verb);
}

enum kd_status
kd_api_batch(struct kd_api *api, const PB(BatchRequest) *r, uint8_t **out, size_t *len,
	 struct kd_err *e)
{
	PB(BatchResponse) resp = PB_C(BATCH_RESPONSE__INIT);
	PB(BatchResult) *res = calloc(r->n_operations ? r->n_operations : 1, sizeof(*res));
	PB(BatchResult) **rp = calloc(r->n_operations ? r->n_operations : 1, sizeof(*rp));
	struct kd_txn t = { 0 };
	enum kd_status st = KD_OK;
	size_t i;

	if (res == NULL || rp == NULL) {
		st = kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	for (i = 0; i < r->n_operations && st == KD_OK; i++) {
		const PB(BatchOperation) *op = r->operations[i];
		const struct kd_kind *k;
		ProtobufCMessage *req, *obj;
		enum kd_verb verb;
		int outcome = 0;

		if (batch_method(op->method, &k, &verb) != 0 ||
		    (verb != KD_VERB_CREATE && verb != KD_VERB_UPDATE && verb != KD_VERB_DELETE)) {
			st = kd_err_set(e, KD_INVALID_ARGUMENT,
					"operations[%zu].method: \"%s\" is not a Create, Update or "
					"Delete method", i, op->method);
			break;
		}
		req = protobuf_c_message_unpack(k->req[verb], NULL, op->request.len, op->request.data);
		if (req == NULL) {
			st = kd_err_set(e, KD_INVALID_ARGUMENT,
					"operations[%zu].request: not a valid %s", i,
					k->req[verb]->short_name);
			break;
		}
		st = kd_api_mutate(api, &t, k, verb, req, &obj, &outcome, e);
		if (st == KD_OK) {
			const PB(ObjectMeta) *m = obj != NULL ?
				(const PB(ObjectMeta) *)*kd_pb_message_field(obj, 2) : NULL;

			PB_FN(batch_result__init)(&res[i]);
			res[i].outcome = outcome;
			res[i].generation = m != NULL ? m->generation : 0;
			rp[i] = &res[i];
		} else {
			at_operation(e, i, op->method);
		}
		protobuf_c_message_free_unpacked(req, NULL);
	}
	if (st != KD_OK) {
		kd_txn_abort(api, &t);
		goto out;
	}
	st = kd_txn_commit(api, &t, e);
	if (st != KD_OK)
		goto out;
	resp.n_results = r->n_operations;
	resp.results = rp;
	st = kd_api_pack(&resp.base, out, len, e);
out:
	free(res);
	free(rp);
	return st;
}
