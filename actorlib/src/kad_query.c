/* The closest-peers iterator of one lookup (see kad_query.h). */
#include "kad_query.h"

#include <stdlib.h>
#include <string.h>

int al__kad_iter_init(al__kad_iter *it, const al__kad_key *target, size_t k,
                      size_t alpha)
{
    memset(it, 0, sizeof(*it));
    it->target = *target;
    it->k = k ? k : AL__KAD_K;
    it->alpha = alpha ? alpha : AL__KAD_ALPHA;
    if (it->k > AL__KAD_QUERY_PEERS)
        it->k = AL__KAD_QUERY_PEERS;
    it->peers = calloc(AL__KAD_QUERY_PEERS, sizeof(*it->peers));
    return it->peers ? 0 : AL_ENOMEM;
}

void al__kad_iter_free(al__kad_iter *it)
{
    for (size_t i = 0; i < it->n; i++)
        al__kad_addrs_free(&it->peers[i].addrs);
    free(it->peers);
    it->peers = NULL;
    it->n = 0;
}

static ptrdiff_t index_of(const al__kad_iter *it, const al__kad_key *key)
{
    for (size_t i = 0; i < it->n; i++)
        if (!memcmp(it->peers[i].key.b, key->b, AL__KAD_KEY_LEN))
            return (ptrdiff_t)i;
    return -1;
}

al__kad_qpeer *al__kad_iter_find(al__kad_iter *it, const al_peer_id *peer)
{
    al__kad_key key;
    al__kad_key_peer(peer, &key);
    ptrdiff_t i = index_of(it, &key);
    return i < 0 ? NULL : &it->peers[i];
}

static void remove_at(al__kad_iter *it, size_t i)
{
    al__kad_addrs_free(&it->peers[i].addrs);
    memmove(&it->peers[i], &it->peers[i + 1],
            (it->n - i - 1) * sizeof(it->peers[0]));
    it->n--;
}

/* Inserts in distance order. Returns the index, or -1 when the peer is
 * known or did not make the cut. */
static ptrdiff_t insert(al__kad_iter *it, const al_peer_id *peer,
                        const al__kad_addrs *addrs)
{
    al__kad_key key;
    al__kad_key_peer(peer, &key);
    if (index_of(it, &key) >= 0)
        return -1;
    size_t pos = 0;
    while (pos < it->n &&
           al__kad_distance_cmp(&it->target, &it->peers[pos].key, &key) < 0)
        pos++;
    if (it->n == AL__KAD_QUERY_PEERS) {
        /* Make room by dropping the farthest candidate not in flight. */
        size_t victim = it->n;
        while (victim-- > pos)
            if (it->peers[victim].state != AL__KQ_WAITING)
                break;
        if (victim == (size_t)-1 || victim < pos ||
            it->peers[victim].state == AL__KQ_WAITING)
            return -1;
        remove_at(it, victim);
    }
    memmove(&it->peers[pos + 1], &it->peers[pos],
            (it->n - pos) * sizeof(it->peers[0]));
    al__kad_qpeer *p = &it->peers[pos];
    memset(p, 0, sizeof(*p));
    p->peer = *peer;
    p->key = key;
    p->state = AL__KQ_NEW;
    if (addrs)
        al__kad_addrs_merge(&p->addrs, addrs);
    it->n++;
    return (ptrdiff_t)pos;
}

bool al__kad_iter_add(al__kad_iter *it, const al_peer_id *peer,
                      const al__kad_addrs *addrs)
{
    if (it->state == AL__KI_DONE)
        return false;
    return insert(it, peer, addrs) >= 0;
}

static al__kad_qpeer *waiting_peer(al__kad_iter *it, const al_peer_id *peer)
{
    if (it->state == AL__KI_DONE)
        return NULL;
    al__kad_qpeer *p = al__kad_iter_find(it, peer);
    return p && p->state == AL__KQ_WAITING ? p : NULL;
}

bool al__kad_iter_on_success(al__kad_iter *it, const al_peer_id *peer,
                             const al__kad_found *closer, size_t n)
{
    al__kad_qpeer *p = waiting_peer(it, peer);
    if (!p)
        return false;
    p->state = AL__KQ_SUCCEEDED;
    it->num_waiting--;

    /* Progress: a new candidate closer than the k-th closest known one
     * (or any new candidate while fewer than k are known). */
    bool progress = it->n < it->k;
    al__kad_key range = it->peers[(it->n < it->k ? it->n : it->k) - 1].key;
    for (size_t i = 0; i < n; i++) {
        ptrdiff_t at = insert(it, &closer[i].peer, closer[i].addrs);
        if (at >= 0 &&
            al__kad_distance_cmp(&it->target, &it->peers[at].key, &range) < 0)
            progress = true;
    }
    if (it->state == AL__KI_ITERATING) {
        it->no_progress = progress ? 0 : it->no_progress + 1;
        if (it->no_progress >= it->alpha)
            it->state = AL__KI_STALLED;
    } else if (progress) {
        it->state = AL__KI_ITERATING;
        it->no_progress = 0;
    }
    return true;
}

bool al__kad_iter_on_failure(al__kad_iter *it, const al_peer_id *peer)
{
    al__kad_qpeer *p = waiting_peer(it, peer);
    if (!p)
        return false;
    p->state = AL__KQ_FAILED;
    it->num_waiting--;
    return true;
}

static bool at_capacity(const al__kad_iter *it)
{
    size_t cap = it->alpha;
    if (it->state == AL__KI_STALLED && it->k > cap)
        cap = it->k;
    return it->num_waiting >= cap;
}

int al__kad_iter_next(al__kad_iter *it, al__kad_qpeer **out)
{
    *out = NULL;
    if (it->state == AL__KI_DONE)
        return AL__KI_FINISHED;
    bool counting = true;
    size_t answered = 0;
    bool full = at_capacity(it);
    for (size_t i = 0; i < it->n; i++) {
        al__kad_qpeer *p = &it->peers[i];
        switch (p->state) {
        case AL__KQ_WAITING:
            if (full)
                return AL__KI_WAIT;
            /* A closer peer has yet to answer: the k closest are not all
             * in. */
            counting = false;
            break;
        case AL__KQ_SUCCEEDED:
            if (counting && ++answered >= it->k) {
                it->state = AL__KI_DONE;
                return AL__KI_FINISHED;
            }
            break;
        case AL__KQ_NEW:
            if (full)
                return AL__KI_WAIT;
            p->state = AL__KQ_WAITING;
            it->num_waiting++;
            *out = p;
            return AL__KI_SEND;
        case AL__KQ_FAILED:
            break;
        }
    }
    if (it->num_waiting > 0)
        return AL__KI_WAIT;
    it->state = AL__KI_DONE;
    return AL__KI_FINISHED;
}

void al__kad_iter_finish(al__kad_iter *it)
{
    it->state = AL__KI_DONE;
}

bool al__kad_iter_finished(const al__kad_iter *it)
{
    return it->state == AL__KI_DONE;
}

size_t al__kad_iter_result(al__kad_iter *it, al__kad_qpeer **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < it->n && n < cap && n < it->k; i++)
        if (it->peers[i].state == AL__KQ_SUCCEEDED)
            out[n++] = &it->peers[i];
    return n;
}

size_t al__kad_iter_succeeded(const al__kad_iter *it)
{
    size_t n = 0;
    for (size_t i = 0; i < it->n; i++)
        if (it->peers[i].state == AL__KQ_SUCCEEDED)
            n++;
    return n;
}
