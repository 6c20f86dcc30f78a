/* Engine benchmarks on the default emotion CNN's shapes. */
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/nn/nn_internal.h"
#include "bench.h"
#include "emotrace/cnn_trainer.h"
#include "emotrace/emotion_classifier.h"
#include "emotrace/error.h"
#include "emotrace/train_ops.h"

static et_net *make_net(int batch)
{
    et_net *net = NULL;
    if (et_net_create(&net, et_emotion_cnn_default_arch(), 7) != ET_OK) {
        fprintf(stderr, "bench: %s\n", et_error_message());
        exit(1);
    }
    et_net_prepare(net, batch, 1);
    et_rng rng;
    et_rng_seed(&rng, 3);
    for (size_t i = 0; i < et_tensor_count(&net->input); i++)
        net->input.data[i] = (float)et_rng_normal(&rng);
    return net;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Training throughput at batch 64 on 2 threads (the median step), with a
 * per-layer breakdown (forward and backward ms per step) printed to stderr. */
BENCH(nn_train)
{
    enum { BATCH = 64, WARMUP = 2, STEPS = 12 };
    openblas_set_num_threads(2);
    et_net *net = make_net(BATCH);
    et_optimizer opt;
    et_optimizer_init(&opt, net, ET_OPTIMIZER_SGD);
    int labels[BATCH];
    float targets[BATCH * ET_EMOTIONS];
    for (int i = 0; i < BATCH; i++)
        labels[i] = i % ET_EMOTIONS;
    et_targets_one_hot(labels, BATCH, ET_EMOTIONS, targets);
    double *fwd = calloc((size_t)net->layer_count, sizeof(double));
    double *bwd = calloc((size_t)net->layer_count, sizeof(double));
    double step_time[STEPS];
    et_tensor dlogits = {0};
    for (int s = 0; s < WARMUP + STEPS; s++) {
        double step_start = bench_now();
        for (int l = 0; l < net->layer_count; l++) {
            double t0 = bench_now();
            et_net_forward_layer(net, l, 1);
            if (s >= WARMUP)
                fwd[l] += bench_now() - t0;
        }
        et_layer *out = &net->layers[net->outputs[0]];
        double loss;
        et_loss_softmax_cross_entropy(&out->out, targets, 0.1f, &dlogits, &loss);
        et_tensor_resize(&out->dout, dlogits.n, dlogits.c, 1, 1);
        memcpy(out->dout.data, dlogits.data, et_tensor_count(&dlogits) * sizeof(float));
        et_net_zero_grad(net);
        /* As et_net_backward, layer by layer. */
        et_net_backward_begin(net);
        for (int l = net->layer_count - 1; l >= 0; l--) {
            double t0 = bench_now();
            et_layer_backward(&net->layers[l], net);
            if (s >= WARMUP)
                bwd[l] += bench_now() - t0;
        }
        et_optimizer_step(&opt, net, 0.01f);
        if (s >= WARMUP)
            step_time[s - WARMUP] = bench_now() - step_start;
    }
    fprintf(stderr, "  %-10s %-10s %8s %8s %8s (ms/step)\n", "layer", "type", "forward", "backward", "total");
    for (int l = 0; l < net->layer_count; l++)
        fprintf(stderr, "  %-10s %-10s %8.2f %8.2f %8.2f\n", net->layers[l].name, net->layers[l].type->name,
                1000 * fwd[l] / STEPS, 1000 * bwd[l] / STEPS, 1000 * (fwd[l] + bwd[l]) / STEPS);
    bench_report("nn_train_images_per_s_batch64_2threads", BATCH / median(step_time, STEPS));
    free(fwd);
    free(bwd);
    et_tensor_free(&dlogits);
    et_optimizer_free(&opt);
    et_net_free(net);
}

/* Inference latency of the CNN (batch norm folded) per crop: the median of
 * many passes. */
BENCH(nn_infer)
{
    int sizes[2] = {1, 32};
    for (int k = 0; k < 2; k++) {
        openblas_set_num_threads(k == 0 ? 1 : 2);
        et_net *net = make_net(sizes[k]);
        et_net_fold_batchnorm(net);
        enum { REPS = 200 };
        int reps = k == 0 ? REPS : 20;
        double times[REPS];
        et_net_forward(net, 0);
        for (int r = 0; r < reps; r++) {
            double start = bench_now();
            et_net_forward(net, 0);
            times[r] = (bench_now() - start) / sizes[k];
        }
        bench_report(k == 0 ? "nn_infer_ms_per_crop_batch1_1thread" : "nn_infer_ms_per_crop_batch32_2threads",
                     median(times, reps) * 1000);
        et_net_free(net);
    }
}

/* The shipped emotion classifier as analyze and eval run it, per face crop
 * at batch 1 on one thread, everything included: the 48x48 crop's
 * standardisation, the network, softmax and the embedding for the temporal
 * model; by default, then with the optional flip test-time augmentation
 * (--tta). The median of many crops (the budget, 5 ms, is the README's to
 * compare with, not a measurement). */
BENCH(emotion_crop_ms)
{
    enum { REPS = 300 };
    openblas_set_num_threads(1);
    et_nn_set_threads(1);
    et_emotion_classifier c;
    if (et_emotion_classifier_load(&c, "weights/emotion-cnn.safetensors") != ET_OK) {
        fprintf(stderr, "bench: %s\n", et_error_message());
        exit(1);
    }
    uint8_t crop[ET_FACE_SIZE * ET_FACE_SIZE];
    for (int i = 0; i < ET_FACE_SIZE * ET_FACE_SIZE; i++)
        crop[i] = (uint8_t)((i * 2654435761u) >> 24);
    float probabilities[ET_EMOTIONS], *embedding = malloc((size_t)c.embedding_size * sizeof(float));
    double times[REPS];
    /* As analyze runs it by default, then with --tta (mirror image too). */
    for (c.flip_tta = 0; c.flip_tta <= 1; c.flip_tta++) {
        for (int r = -5; r < REPS; r++) {
            double t0 = bench_now();
            et_emotion_classifier_run(&c, crop, 1, probabilities, embedding);
            if (r >= 0)
                times[r] = bench_now() - t0;
        }
        bench_report(c.flip_tta ? "emotion_crop_tta_ms_batch1_1thread" : "emotion_crop_ms_batch1_1thread",
                     median(times, REPS) * 1000);
    }
    free(embedding);
    et_emotion_classifier_free(&c);
    et_nn_set_threads(0);
}

/* Per-layer forward time of net at batch 1 on 1 thread (the median of many
 * passes), one line "<prefix>_<layer>_<type>_ms" per layer that does work. */
static void report_layer_times(et_net *net, const char *prefix)
{
    enum { REPS = 200 };
    openblas_set_num_threads(1);
    double *times = calloc((size_t)net->layer_count * REPS, sizeof(double));
    et_net_forward(net, 0);
    for (int r = 0; r < REPS; r++)
        for (int l = 0; l < net->layer_count; l++) {
            double t0 = bench_now();
            et_net_forward_layer(net, l, 0);
            times[(size_t)l * REPS + r] = bench_now() - t0;
        }
    double total = 0.0;
    for (int l = 0; l < net->layer_count; l++) {
        double m = median(times + (size_t)l * REPS, REPS) * 1000;
        total += m;
        if (net->layers[l].identity)
            continue; /* folded into the layer before */
        char name[160];
        snprintf(name, sizeof name, "%s_%s_%s_ms", prefix, net->layers[l].name, net->layers[l].type->name);
        bench_report(name, m);
    }
    char name[96];
    snprintf(name, sizeof name, "%s_sum_ms", prefix);
    bench_report(name, total);
    free(times);
}

/* The emotion CNN, batch norm folded. */
BENCH(nn_infer_layers)
{
    et_net *net = make_net(1);
    et_net_fold_batchnorm(net);
    report_layer_times(net, "nn_infer_layer");
    et_net_free(net);
}

/* The short-range face detector's network as the detector runs it (ReLUs
 * folded; make bench runs from the repository root), on a random input in
 * its [-1, 1] range. */
BENCH(nn_face_short_layers)
{
    et_net *net = NULL;
    if (et_net_load(&net, "weights/face-short.safetensors") != ET_OK || et_net_fold_batchnorm(net) != ET_OK ||
        et_net_prepare(net, 1, 1) != ET_OK) {
        fprintf(stderr, "bench: %s\n", et_error_message());
        exit(1);
    }
    et_rng rng;
    et_rng_seed(&rng, 3);
    for (size_t i = 0; i < et_tensor_count(&net->input); i++)
        net->input.data[i] = (float)(2.0 * et_rng_uniform(&rng) - 1.0);
    report_layer_times(net, "nn_face_short_layer");
    et_net_free(net);
}

/* Conv forward GFLOP/s against raw sgemm on the same GEMM shapes (one GEMM
 * of all 64 images' columns per layer, its size from the layer's weights),
 * best of several runs of each. */
BENCH(nn_conv_vs_sgemm)
{
    enum { RUNS = 5 };
    openblas_set_num_threads(1);
    const int batch = 64;
    et_net *net = make_net(batch);
    double conv_flops = 0, conv_time = 0, gemm_time = 0;
    for (int l = 0; l < net->layer_count; l++) {
        et_layer *layer = &net->layers[l];
        if (strcmp(layer->type->name, "conv2d") != 0) {
            layer->type->forward(layer, net, 0);
            continue;
        }
        /* The layer's own GEMM: weight [out, in/groups, kh, kw] times the
         * columns of every output pixel of the batch (per group; groups
         * GEMMs of out/groups rows do the work of this one). */
        const et_tensor *weight = &layer->params[0].value;
        et_shape out = layer->out_shape;
        long m = out.c, k = (long)weight->c * weight->h * weight->w, n = (long)batch * out.h * out.w;
        double flops = 2.0 * m * k * n, best = 1e30;
        layer->type->forward(layer, net, 0);
        for (int r = 0; r < RUNS; r++) {
            double t0 = bench_now();
            layer->type->forward(layer, net, 0);
            double t = bench_now() - t0;
            best = t < best ? t : best;
        }
        conv_time += best;
        float *a = et_floats_alloc((size_t)m * k), *b = et_floats_alloc((size_t)k * n), *c = et_floats_alloc((size_t)m * n);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1, a, (int)k, b, (int)n, 0, c, (int)n);
        best = 1e30;
        for (int r = 0; r < RUNS; r++) {
            double t0 = bench_now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1, a, (int)k, b, (int)n, 0,
                        c, (int)n);
            double t = bench_now() - t0;
            best = t < best ? t : best;
        }
        gemm_time += best;
        conv_flops += flops;
        et_floats_free(a);
        et_floats_free(b);
        et_floats_free(c);
    }
    bench_report("nn_conv_forward_gflops_1thread", conv_flops / conv_time / 1e9);
    bench_report("nn_sgemm_same_shapes_gflops_1thread", conv_flops / gemm_time / 1e9);
    bench_report("nn_conv_over_sgemm_ratio", gemm_time / conv_time);
    et_net_free(net);
}
