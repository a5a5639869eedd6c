package org.elasticsearch.localnode;

import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.email.UAX29URLEmailTokenizer;
import org.apache.lucene.analysis.pattern.PatternCaptureGroupTokenFilter;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.AbstractTokenizerFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.rest.RestHandler;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * What the local test node needs from modules that are not published to Maven Central.
 *
 * <ul>
 *   <li>{@code GET /} and {@code HEAD /} (the rest-root module).</li>
 *   <li>The analysis components the security index's {@code email} analyzer uses
 *       (from analysis-common): the {@code uax_url_email} tokenizer and the
 *       {@code pattern_capture} and {@code unique} token filters. Without them the
 *       {@code .security} index cannot be created, so API keys and native users fail.</li>
 * </ul>
 */
public class LocalNodePlugin extends Plugin implements ActionPlugin, AnalysisPlugin {

    private final AtomicReference<ClusterService> clusterService = new AtomicReference<>();

    @Override
    public Collection<?> createComponents(PluginServices services) {
        clusterService.set(services.clusterService());
        return List.of();
    }

    @Override
    public Collection<RestHandler> getRestHandlers(
        RestHandlersServices services,
        Supplier<DiscoveryNodes> nodesInCluster,
        Predicate<NodeFeature> clusterSupportsFeature
    ) {
        return List.of(new RestRootInfoAction(clusterService::get));
    }

    @Override
    public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
        return Map.of("uax_url_email", (indexSettings, env, name, settings) -> {
            int maxTokenLength = settings.getAsInt("max_token_length", 255);
            return new AbstractTokenizerFactory(name) {
                @Override
                public Tokenizer create() {
                    UAX29URLEmailTokenizer tokenizer = new UAX29URLEmailTokenizer();
                    tokenizer.setMaxTokenLength(maxTokenLength);
                    return tokenizer;
                }
            };
        });
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of("pattern_capture", new AnalysisProvider<>() {
            @Override
            public TokenFilterFactory get(
                org.elasticsearch.index.IndexSettings indexSettings,
                org.elasticsearch.env.Environment env,
                String name,
                org.elasticsearch.common.settings.Settings settings
            ) {
                List<String> regexes = settings.getAsList("patterns");
                if (regexes.isEmpty()) {
                    throw new IllegalArgumentException("required setting 'patterns' is missing for token filter [" + name + "]");
                }
                Pattern[] patterns = regexes.stream().map(Pattern::compile).toArray(Pattern[]::new);
                boolean preserveOriginal = settings.getAsBoolean("preserve_original", true);
                return new AbstractTokenFilterFactory(name) {
                    @Override
                    public org.apache.lucene.analysis.TokenStream create(org.apache.lucene.analysis.TokenStream stream) {
                        return new PatternCaptureGroupTokenFilter(stream, preserveOriginal, patterns);
                    }
                };
            }

            @Override
            public boolean requiresAnalysisSettings() {
                return true;
            }
        }, "unique", (indexSettings, env, name, settings) -> {
            boolean onlyOnSamePosition = settings.getAsBoolean("only_on_same_position", false);
            return new AbstractTokenFilterFactory(name) {
                @Override
                public org.apache.lucene.analysis.TokenStream create(org.apache.lucene.analysis.TokenStream stream) {
                    return new UniqueTokenFilter(stream, onlyOnSamePosition);
                }
            };
        });
    }
}
