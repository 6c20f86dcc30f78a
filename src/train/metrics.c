#include "emotrace/metrics.h"

#include <string.h>

void et_metrics_init(et_metrics *m)
{
    memset(m, 0, sizeof *m);
}

void et_metrics_add(et_metrics *m, int truth, int predicted)
{
    if (truth < 0 || truth >= ET_EMOTIONS || predicted < 0 || predicted >= ET_EMOTIONS)
        return;
    m->confusion[truth][predicted]++;
    m->total++;
    m->correct += truth == predicted;
}

void et_metrics_finish(et_metrics *m)
{
    m->accuracy = m->total ? (double)m->correct / (double)m->total : 0.0;
    m->macro_f1 = 0.0;
    for (int k = 0; k < ET_EMOTIONS; k++) {
        long tp = m->confusion[k][k], predicted = 0, actual = 0;
        for (int j = 0; j < ET_EMOTIONS; j++) {
            predicted += m->confusion[j][k];
            actual += m->confusion[k][j];
        }
        m->precision[k] = predicted ? (double)tp / (double)predicted : 0.0;
        m->recall[k] = actual ? (double)tp / (double)actual : 0.0;
        double pr = m->precision[k] + m->recall[k];
        m->f1[k] = pr > 0 ? 2.0 * m->precision[k] * m->recall[k] / pr : 0.0;
        m->macro_f1 += m->f1[k] / ET_EMOTIONS;
    }
}

