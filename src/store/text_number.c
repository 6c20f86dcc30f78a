/* Fixed-point number text that ignores LC_NUMERIC: printf's %f would write
 * "0,5" under a German locale and break CSV and JSON alike. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sink_internal.h"

void et_text_fixed(et_strbuf *b, double v, int decimals, const char *nonfinite)
{
    static const int64_t scale[] = {1,      10,      100,      1000,      10000,
                                    100000, 1000000, 10000000, 100000000, 1000000000};
    if (!isfinite(v)) {
        et_strbuf_append(b, nonfinite, strlen(nonfinite));
        return;
    }
    if (decimals < 0)
        decimals = 0;
    if (decimals > 9)
        decimals = 9;
    double scaled = fabs(v) * (double)scale[decimals];
    if (scaled >= 9e15) {
        /* Beyond exact integers; %.0f prints digits only, no decimal point. */
        et_strbuf_printf(b, "%.0f", v);
        return;
    }
    int64_t n = (int64_t)llround(scaled);
    const char *sign = v < 0 && n != 0 ? "-" : "";
    if (decimals == 0)
        et_strbuf_printf(b, "%s%lld", sign, (long long)n);
    else
        et_strbuf_printf(b, "%s%lld.%0*lld", sign, (long long)(n / scale[decimals]), decimals,
                         (long long)(n % scale[decimals]));
}
