/* Engine benchmarks on the default emotion CNN's shapes. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "emotrace/cnn_trainer.h"
#include "emotrace/emotion_classifier.h"
#include "emotrace/error.h"
#include "emotrace/nn.h"
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

/* Training throughput at batch 64 on 2 threads, with a per-layer breakdown
 * (forward + backward seconds per step) printed to stderr. */
BENCH(nn_train)
{
    const int batch = 64, warmup = 2, steps = 10;
    openblas_set_num_threads(2);
    et_net *net = make_net(batch);
    et_optimizer opt;
    et_optimizer_init(&opt, net, ET_OPTIMIZER_SGD);
    int labels[64];
    float targets[64 * ET_EMOTIONS];
    for (int i = 0; i < batch; i++)
        labels[i] = i % ET_EMOTIONS;
    et_targets_one_hot(labels, batch, ET_EMOTIONS, targets);
    double *layer_time = calloc((size_t)net->layer_count, sizeof(double));
    et_tensor dlogits = {0};
    double start = 0;
    for (int s = 0; s < warmup + steps; s++) {
        if (s == warmup)
            start = bench_now();
        for (int l = 0; l < net->layer_count; l++) {
            double t0 = bench_now();
            net->layers[l].type->forward(&net->layers[l], net, 1);
            if (s >= warmup)
                layer_time[l] += bench_now() - t0;
        }
        et_layer *out = &net->layers[net->outputs[0]];
        double loss;
        et_loss_softmax_cross_entropy(&out->out, targets, 0.1f, &dlogits, &loss);
        et_tensor_resize(&out->dout, dlogits.n, dlogits.c, 1, 1);
        memcpy(out->dout.data, dlogits.data, et_tensor_count(&dlogits) * sizeof(float));
        et_net_zero_grad(net);
        for (int l = 0; l < net->layer_count; l++)
            if (l != net->outputs[0])
                et_tensor_zeros(&net->layers[l].dout, batch, net->layers[l].out_shape.c, net->layers[l].out_shape.h,
                                net->layers[l].out_shape.w);
        for (int l = net->layer_count - 1; l >= 0; l--) {
            double t0 = bench_now();
            net->layers[l].type->backward(&net->layers[l], net);
            if (s >= warmup)
                layer_time[l] += bench_now() - t0;
        }
        et_optimizer_step(&opt, net, 0.01f);
    }
    double elapsed = bench_now() - start;
    for (int l = 0; l < net->layer_count; l++)
        fprintf(stderr, "  %-10s %-14s %7.2f ms/step\n", net->layers[l].name, net->layers[l].type->name,
                1000 * layer_time[l] / steps);
    bench_report("nn_train_images_per_s_batch64_2threads", batch * steps / elapsed);
    free(layer_time);
    et_tensor_free(&dlogits);
    et_optimizer_free(&opt);
    et_net_free(net);
}

/* Inference latency of the CNN (batch norm folded) per crop. */
BENCH(nn_infer)
{
    int sizes[2] = {1, 32};
    for (int k = 0; k < 2; k++) {
        openblas_set_num_threads(k == 0 ? 1 : 2);
        et_net *net = make_net(sizes[k]);
        et_net_fold_batchnorm(net);
        int reps = k == 0 ? 200 : 20;
        et_net_forward(net, 0);
        double start = bench_now();
        for (int r = 0; r < reps; r++)
            et_net_forward(net, 0);
        double per_crop = (bench_now() - start) / reps / sizes[k];
        bench_report(k == 0 ? "nn_infer_ms_per_crop_batch1_1thread" : "nn_infer_ms_per_crop_batch32_2threads",
                     per_crop * 1000);
        et_net_free(net);
    }
}

/* Conv forward GFLOP/s against raw sgemm on the same GEMM shapes. */
BENCH(nn_conv_vs_sgemm)
{
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
        et_shape in = layer->in_shape[0], out = layer->out_shape;
        long m = out.c, k = (long)in.c * 9, n = (long)batch * out.h * out.w;
        double flops = 2.0 * m * k * n;
        layer->type->forward(layer, net, 0);
        double t0 = bench_now();
        layer->type->forward(layer, net, 0);
        conv_time += bench_now() - t0;
        float *a = et_floats_alloc((size_t)m * k), *b = et_floats_alloc((size_t)k * n), *c = et_floats_alloc((size_t)m * n);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1, a, (int)k, b, (int)n, 0, c, (int)n);
        t0 = bench_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1, a, (int)k, b, (int)n, 0, c, (int)n);
        gemm_time += bench_now() - t0;
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
